# cli messages (az): filled in by the cli work.
