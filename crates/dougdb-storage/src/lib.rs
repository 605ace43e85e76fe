//! DougDB's storage engine: a segmented, CRC32-framed write-ahead log ([`wal`]) and an LSM
//! tree of SSTables ([`lsm`]), both over a small file-system trait ([`fs`]) so that crash
//! tests can inject faults.
//!
//! This crate knows files; it knows nothing of Raft, gRPC, tokio or plugins. A compaction
//! policy is a trait it is handed ([`lsm::CompactionPolicy`]).

pub mod error;
pub mod fs;
pub mod lsm;
pub mod wal;

pub use error::{Error, Result};
