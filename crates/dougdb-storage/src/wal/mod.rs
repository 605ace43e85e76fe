//! The write-ahead log (filled in by the WAL work).
