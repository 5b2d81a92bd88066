# cli messages (hy): filled in by the cli work.
