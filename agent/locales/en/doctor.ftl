# doctor messages (en): filled in by the doctor work.
