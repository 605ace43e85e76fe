//! The one error type of `dougdb-server`. Storage and Raft failures are wrapped with
//! their source; decoding failures (disk records, wire messages, commands) name what was
//! malformed and why. Translated once more at the gRPC boundary (later: `tonic::Status`).

use std::path::PathBuf;

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of the node's building blocks.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The WAL, the LSM or the file system failed.
    #[error("storage: {source}")]
    Storage {
        /// What the storage engine reported.
        #[from]
        source: dougdb_storage::Error,
    },

    /// The Raft core refused or failed.
    #[error("raft: {source}")]
    Raft {
        /// What Raft reported.
        #[from]
        source: dougdb_raft::Error,
    },

    /// A record of a Raft log (WAL payload) does not decode or does not fit the log.
    #[error("corrupt raft log record at position {position} in {dir}: {reason}")]
    CorruptLogRecord {
        /// The WAL directory.
        dir: PathBuf,
        /// WAL position of the record.
        position: u64,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// The Raft metadata file or the snapshot data file is damaged or inconsistent.
    #[error("corrupt raft metadata {file}: {reason}")]
    CorruptMeta {
        /// The file.
        file: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A protobuf Raft message cannot be translated into a `dougdb_raft::Message`.
    #[error("malformed raft message from the wire: {field}: {reason}")]
    Wire {
        /// The offending field.
        field: &'static str,
        /// Why it was refused.
        reason: &'static str,
    },

    /// A replicated command's bytes do not decode.
    #[error("undecodable command at byte {offset}: {reason}")]
    BadCommand {
        /// Byte offset where decoding failed.
        offset: u64,
        /// Why.
        reason: &'static str,
    },

    /// A client request is invalid (empty key, key or value over the limit, ...).
    #[error("invalid argument: {reason}")]
    InvalidArgument {
        /// What was wrong, for the client.
        reason: String,
    },

    /// This replica does not lead its shard (writes and strong reads go to the leader).
    #[error("shard {shard}: not the leader (leader hint: {leader_hint:?})")]
    NotLeader {
        /// The shard.
        shard: u64,
        /// The leader's node id, when known.
        leader_hint: Option<u64>,
    },

    /// This node hosts no replica of the shard.
    #[error("shard {shard} is not hosted here")]
    WrongShard {
        /// The shard the request named.
        shard: u64,
    },

    /// The shard cannot answer now (no quorum, shutting down, proposal lost in a leader
    /// change, deadline passed); the caller may retry.
    #[error("unavailable: {reason}")]
    Unavailable {
        /// Why.
        reason: String,
    },

    /// A plugin named by the cluster file cannot be read, does not match its digest, or
    /// does not load.
    #[error("plugin {plugin}: {reason}")]
    Plugin {
        /// The plugin's name in the cluster file.
        plugin: String,
        /// What went wrong and what to do.
        reason: String,
    },
    /// The cluster file or the node's data dir does not fit this node.
    #[error("configuration {path}: {reason}")]
    Config {
        /// The offending file or directory.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },

    /// A file-system or socket operation failed outside the storage engine.
    #[error("{what}: {cause}")]
    Io {
        /// What was being done.
        what: String,
        /// The OS error (in the message, not chained as a source, so reports that print
        /// the chain do not repeat it).
        cause: std::io::Error,
    },
}

impl Error {
    /// Wraps this error for the `LogStore` trait, which speaks `dougdb_raft::Error`.
    pub fn into_raft(self) -> dougdb_raft::Error {
        match self {
            Error::Raft { source } => source,
            other => dougdb_raft::Error::Storage {
                source: Box::new(other),
            },
        }
    }
}
