# tray messages (az): filled in by the tray work.
