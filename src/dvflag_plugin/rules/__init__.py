"""Rules of the record (DESIGN §3), input validation and the permission matrix (DESIGN §5)."""
