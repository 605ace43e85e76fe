//! The variants of `dougdb_server::Error` (crates/dougdb-server/src/error.rs) that the
//! codec files compiled by this crate construct, with the same fields. Only what the
//! targets need: they compare results and never print these errors.

use std::path::PathBuf;

/// Result with this mirror's [`Error`], as in the server.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Mirror of `dougdb_server::Error` (the variants the included codecs use).
#[derive(Debug)]
pub enum Error {
    /// The storage engine failed (a snapshot's corruption is reported this way).
    Storage {
        /// What the storage engine reported.
        source: dougdb_storage::Error,
    },
    /// The Raft metadata file or the snapshot data file is damaged.
    CorruptMeta {
        /// The file.
        file: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A replicated command's bytes do not decode.
    BadCommand {
        /// Byte offset where decoding failed.
        offset: u64,
        /// Why.
        reason: &'static str,
    },
    /// A client request is invalid.
    InvalidArgument {
        /// What was wrong.
        reason: String,
    },
}

impl From<dougdb_storage::Error> for Error {
    fn from(source: dougdb_storage::Error) -> Self {
        Error::Storage { source }
    }
}
