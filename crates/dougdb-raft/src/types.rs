//! Newtypes for the numbers Raft juggles (node ids, terms, log indexes) and the plain
//! records that get persisted: log entries, the hard state and snapshot metadata.

use std::collections::BTreeSet;
use std::fmt;

/// Identity of a Raft peer. `NodeId(0)` is reserved (wire formats use 0 for "none").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u64);

/// A Raft term. Terms only grow; a node that sees a larger term adopts it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Term(pub u64);

/// Position of an entry in the replicated log. Index 0 is the empty prefix; the first
/// real entry has index 1.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogIndex(pub u64);

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}
impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t{}", self.0)
    }
}
impl fmt::Display for LogIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "i{}", self.0)
    }
}

impl Term {
    /// The next term (saturating: 2^64 terms will not happen, but never wrap).
    pub fn next(self) -> Term {
        Term(self.0.saturating_add(1))
    }
}

impl LogIndex {
    /// The following index.
    pub fn next(self) -> LogIndex {
        LogIndex(self.0.saturating_add(1))
    }
    /// The preceding index, saturating at 0.
    pub fn prev(self) -> LogIndex {
        LogIndex(self.0.saturating_sub(1))
    }
    /// `self + n`.
    pub fn plus(self, n: u64) -> LogIndex {
        LogIndex(self.0.saturating_add(n))
    }
}

/// What an entry carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// Application command: `data` is opaque to Raft.
    Normal,
    /// Membership change: `data` is an encoded [`crate::ConfChangeRecord`].
    ConfChange,
    /// Appended by a new leader to commit an entry of its own term (empty `data`).
    Noop,
}

/// One log entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Entry {
    /// Term of the leader that created the entry.
    pub term: Term,
    /// Position in the log.
    pub index: LogIndex,
    /// How to interpret `data`.
    pub kind: EntryKind,
    /// Payload.
    pub data: Vec<u8>,
}

/// Fixed per-entry overhead counted by the size limits, so that empty entries are not free.
pub const ENTRY_OVERHEAD_BYTES: u64 = 24;

impl Entry {
    /// Size of the entry as counted against `max_size_per_msg_bytes` and the inflight
    /// byte budget: payload plus a fixed header estimate.
    pub fn size_bytes(&self) -> u64 {
        self.data.len() as u64 + ENTRY_OVERHEAD_BYTES
    }
}

/// State that must be durable before a message that depends on it is sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HardState {
    /// Latest term this node has seen.
    pub term: Term,
    /// Candidate voted for in `term`, if any.
    pub vote: Option<NodeId>,
    /// Highest index known committed (persisting it is an optimisation, not a safety need).
    pub commit: LogIndex,
}

/// Membership of a group: voters decide elections and commits, learners only replicate.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ConfState {
    /// Members whose votes and acknowledgements count.
    pub voters: BTreeSet<NodeId>,
    /// Members that receive the log but never vote.
    pub learners: BTreeSet<NodeId>,
}

impl ConfState {
    /// A configuration with the given voters and no learners.
    pub fn with_voters(ids: impl IntoIterator<Item = u64>) -> ConfState {
        ConfState {
            voters: ids.into_iter().map(NodeId).collect(),
            learners: BTreeSet::new(),
        }
    }
    /// Whether `id` is a voter or a learner.
    pub fn contains(&self, id: NodeId) -> bool {
        self.voters.contains(&id) || self.learners.contains(&id)
    }
}

/// Describes the log prefix a snapshot replaces.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SnapshotMetadata {
    /// Last index covered by the snapshot.
    pub index: LogIndex,
    /// Term of the entry at `index`.
    pub term: Term,
    /// Membership as of `index`.
    pub conf_state: ConfState,
}

/// A complete snapshot: metadata plus the application's opaque state bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// What the snapshot covers.
    pub metadata: SnapshotMetadata,
    /// Application state as of `metadata.index`.
    pub data: Vec<u8>,
}

/// Role of a node in its current term.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Follows a leader (or waits for one).
    Follower,
    /// Asking for pre-votes: has not bumped its term yet.
    PreCandidate,
    /// Asking for votes in a term it started.
    Candidate,
    /// Leads the current term.
    Leader,
}
