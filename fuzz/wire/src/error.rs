//! The variants of `dougdb_server::Error` (crates/dougdb-server/src/error.rs) that the
//! files compiled by this crate construct, with the same fields.

/// Result with this mirror's [`Error`], as in the server.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Mirror of `dougdb_server::Error` (the variants the included files use).
#[derive(Debug)]
pub enum Error {
    /// A protobuf Raft message cannot be translated into a `dougdb_raft::Message`.
    Wire {
        /// The offending field.
        field: &'static str,
        /// Why it was refused.
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
