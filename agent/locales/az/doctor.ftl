# doctor messages (az): filled in by the doctor work.
