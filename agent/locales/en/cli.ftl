# cli messages (en): filled in by the cli work.
