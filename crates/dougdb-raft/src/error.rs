//! The one error type of `dougdb-raft`. API errors a caller handles by retrying or
//! redirecting (`NotLeader`, `ProposalDropped`, ...) are separate variants from storage
//! failures, which are fatal for the group.

use crate::types::{LogIndex, NodeId};

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a proposal or request was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// A leadership transfer is in progress; retry after it ends.
    LeaderTransfer,
    /// A bounded queue is full (pending reads); retry later.
    QueueFull,
    /// No leader is known (a follower cannot forward the request).
    NoLeader,
}

/// Everything that can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration option is out of range or inconsistent with another.
    #[error("invalid config: {field}: {reason}")]
    InvalidConfig {
        /// The offending option.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// This node is not the leader. Redirect to `leader_hint` when known.
    #[error("not the leader (leader hint: {leader_hint:?})")]
    NotLeader {
        /// The leader this node last heard of in its current term.
        leader_hint: Option<NodeId>,
    },

    /// The request was dropped without effect; it may be retried.
    #[error("dropped: {reason:?}")]
    ProposalDropped {
        /// Why.
        reason: DropReason,
    },

    /// A membership change is still uncommitted, or the leader has not yet committed an
    /// entry of its own term; one change at a time.
    #[error("a membership change is pending (conf change at {pending_index} not committed)")]
    ConfChangePending {
        /// Index of the latest conf change in the leader's log.
        pending_index: LogIndex,
    },

    /// The membership change makes no sense against the current configuration.
    #[error("invalid membership change for {node}: {reason}")]
    InvalidConfChange {
        /// The node the change is about.
        node: NodeId,
        /// What is wrong.
        reason: &'static str,
    },

    /// Leader transfer target is not a voter (or is this node).
    #[error("cannot transfer leadership to {target}: {reason}")]
    InvalidTransferTarget {
        /// The requested new leader.
        target: NodeId,
        /// Why not.
        reason: &'static str,
    },

    /// The requested index is before the log's first index (compacted into a snapshot).
    #[error("log index {index} is compacted")]
    Compacted {
        /// The index that was asked for.
        index: LogIndex,
    },

    /// The requested index is past the last index.
    #[error("log index {index} is unavailable (past the last index)")]
    Unavailable {
        /// The index that was asked for.
        index: LogIndex,
    },

    /// A snapshot or compaction request is older than what the store already holds.
    #[error("snapshot at {index} is out of date (store already covers {current})")]
    SnapshotOutOfDate {
        /// The index that was asked for.
        index: LogIndex,
        /// The store's current snapshot index.
        current: LogIndex,
    },

    /// A caller-supplied argument is inconsistent with the log (e.g. non-contiguous
    /// entries passed to a store, compacting past the applied index).
    #[error("invalid argument: {reason} (at {index})")]
    InvalidArgument {
        /// What is wrong.
        reason: &'static str,
        /// The index concerned.
        index: LogIndex,
    },

    /// A message was handed to a node it is not addressed to.
    #[error("message for {to} stepped into another node")]
    Misaddressed {
        /// The message's destination.
        to: NodeId,
    },

    /// A ConfChange entry's payload could not be decoded.
    #[error("undecodable conf change payload: {reason}")]
    BadConfChange {
        /// What is wrong with the bytes.
        reason: &'static str,
    },

    /// The log store failed (I/O). Fatal for the group: stop it and recover from disk.
    #[error("log store failure: {source}")]
    Storage {
        /// The store's own error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    /// Whether the caller may retry the same request later (possibly elsewhere).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::NotLeader { .. }
                | Error::ProposalDropped { .. }
                | Error::ConfChangePending { .. }
        )
    }
}
