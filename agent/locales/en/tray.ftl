# tray messages (en): filled in by the tray work.
