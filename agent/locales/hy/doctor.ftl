# doctor messages (hy): filled in by the doctor work.
