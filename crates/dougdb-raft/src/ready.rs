//! What `RawNode::ready` hands out, plus `ReadState`, `SoftState` and `Status`.

use std::collections::BTreeMap;

use crate::error::Result;
use crate::message::Message;
use crate::progress::ProgressState;
use crate::storage::LogStore;
use crate::types::{ConfState, Entry, HardState, LogIndex, NodeId, Role, Snapshot, Term};

/// Volatile state worth reporting when it changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SoftState {
    /// Leader known in the current term.
    pub leader: Option<NodeId>,
    /// This node's role.
    pub role: Role,
}

/// A confirmed read: serve it once the state machine has applied `index`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadState {
    /// Apply up to here before reading.
    pub index: LogIndex,
    /// The caller's context from `read_index`.
    pub context: Vec<u8>,
}

/// Work for the caller. Carry it out in the order documented on the crate, then call
/// `RawNode::advance`.
#[derive(Clone, Debug, Default)]
pub struct Ready {
    /// Role/leader changed (informational).
    pub soft_state: Option<SoftState>,
    /// Persist when `Some` (term, vote or commit changed).
    pub hard_state: Option<HardState>,
    /// A snapshot from the leader: persist (`LogStore::install_snapshot`) and load into the
    /// state machine, before `entries`.
    pub snapshot: Option<Snapshot>,
    /// Append to the log store (replacing any stored suffix from `entries[0].index`).
    pub entries: Vec<Entry>,
    /// May be sent right away, before or while persisting (a leader's messages, once its
    /// term is durable).
    pub messages: Vec<Message>,
    /// Send only after `hard_state`, `snapshot` and `entries` are durable.
    pub persisted_messages: Vec<Message>,
    /// Apply to the state machine, in order, after persisting.
    pub committed_entries: Vec<Entry>,
    /// Confirmed reads.
    pub read_states: Vec<ReadState>,
}

/// Writes a `Ready`'s durable parts to `store` in the required order: snapshot, entries,
/// hard state. (A store that syncs lazily must sync before returning.)
pub fn persist_ready<S: LogStore>(store: &mut S, rd: &Ready) -> Result<()> {
    if let Some(s) = &rd.snapshot {
        store.install_snapshot(s.clone())?;
    }
    store.append(&rd.entries)?;
    if let Some(hs) = &rd.hard_state {
        store.set_hard_state(hs)?;
    }
    Ok(())
}

/// The leader's view of one peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerStatus {
    /// Highest index known replicated there.
    pub matched: LogIndex,
    /// Next index to send.
    pub next: LogIndex,
    /// Flow-control state.
    pub state: ProgressState,
    /// Appends in flight.
    pub inflight_msgs: usize,
    /// Bytes of entries in flight.
    pub inflight_bytes: u64,
    /// Heard from in the current check-quorum window.
    pub recent_active: bool,
    /// Learner (replicates, does not vote).
    pub is_learner: bool,
}

/// A snapshot of the node's state for operators and tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// This node.
    pub id: NodeId,
    /// Current role.
    pub role: Role,
    /// Current term.
    pub term: Term,
    /// Vote in the current term.
    pub vote: Option<NodeId>,
    /// Known leader.
    pub leader: Option<NodeId>,
    /// Commit index.
    pub commit: LogIndex,
    /// Applied index (as acknowledged by `advance`).
    pub applied: LogIndex,
    /// First index still in the log.
    pub first_index: LogIndex,
    /// Last index of the log.
    pub last_index: LogIndex,
    /// Latest configuration in the log (the one in force).
    pub conf_state: ConfState,
    /// Leader transfer in progress (leader only).
    pub lead_transferee: Option<NodeId>,
    /// Per-peer progress (leader only; empty otherwise).
    pub progress: BTreeMap<NodeId, PeerStatus>,
}
