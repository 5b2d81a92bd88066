# tray messages (hy): filled in by the tray work.
