//! The one error type of `dougdb-client`. Each variant maps 1:1 to a Python exception
//! (`dougdb.errors`), and each message says what went wrong and what to do about it.

use std::time::Duration;

use crate::{NodeId, ShardId};

/// What a client call can fail with.
///
/// Writes: `NotLeader` and `InvalidArgument` mean the write was certainly not proposed;
/// `Timeout` and `Unavailable` mean it may or may not have been applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No leader, no quorum, or no replica answered before the call's deadline.
    #[error(
        "{} unavailable: {reason}; the cluster may be electing a leader or lack a quorum: \
         retry later or check `dougdb status` (a write may or may not have been applied)",
        shard.map_or_else(|| "cluster".to_string(), |s| format!("shard {s}"))
    )]
    Unavailable {
        /// The shard the call needed (`None`: the cluster map itself).
        shard: Option<ShardId>,
        /// The last reason seen.
        reason: String,
    },
    /// A pinned client's node does not lead the key's shard (pinned clients never redirect).
    #[error(
        "node does not lead shard {shard} (leader hint: {}); send the request to the leader, \
         or use an unpinned client, which follows leaders itself",
        leader_hint.map_or_else(|| "none".to_string(), |n| n.to_string())
    )]
    NotLeader {
        /// The shard the request named.
        shard: ShardId,
        /// The leader as known by the answering node, if any.
        leader_hint: Option<NodeId>,
    },
    /// The call's deadline passed while a request was in flight.
    #[error(
        "no answer within the deadline of {deadline:?}; a write may or may not have been \
         applied: read it back before retrying, or raise the timeout"
    )]
    Timeout {
        /// The deadline the call ran under.
        deadline: Duration,
    },
    /// None of the endpoints could be reached.
    #[error(
        "could not reach any of {endpoints:?}: {reason}; check the addresses and that the \
         nodes are running"
    )]
    Connection {
        /// The endpoints tried.
        endpoints: Vec<String>,
        /// The last connection failure.
        reason: String,
    },
    /// The request was refused as malformed (empty key, key or value over the limit,
    /// bad option); it was not applied.
    #[error("invalid argument: {reason}; fix the request, retrying it will not help")]
    InvalidArgument {
        /// What was wrong.
        reason: String,
    },
    /// The cluster's routing plugin could not be loaded or run.
    #[error("routing plugin {plugin:?} failed: {reason}")]
    Plugin {
        /// The plugin's name in the cluster map.
        plugin: String,
        /// The cause.
        reason: String,
    },
    /// The routing plugin's bytes do not hash to the digest in the cluster map; refused.
    #[error(
        "routing plugin {plugin:?} refused: the cluster map names sha256 {expected} but the \
         bytes served hash to {found}; the node serves a different plugin than the cluster \
         was configured with: check the cluster file and the plugin files on every node"
    )]
    PluginDigestMismatch {
        /// The plugin's name in the cluster map.
        plugin: String,
        /// Hex sha256 named by the cluster map.
        expected: String,
        /// Hex sha256 of the bytes received.
        found: String,
    },
    /// A node reported data loss (a checksum failed on disk); never a silent wrong answer.
    #[error("corruption reported by the server: {reason}; see the node's log and restore it")]
    Corruption {
        /// The server's message.
        reason: String,
    },
    /// A node answered something this client does not understand (version mismatch?).
    #[error(
        "protocol error: {reason}; the client and server versions may not match, or the \
         endpoint is not a DougDB node"
    )]
    Protocol {
        /// What was unexpected.
        reason: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn invalid(reason: impl Into<String>) -> Self {
        Error::InvalidArgument {
            reason: reason.into(),
        }
    }

    pub(crate) fn protocol(reason: impl Into<String>) -> Self {
        Error::Protocol {
            reason: reason.into(),
        }
    }
}
