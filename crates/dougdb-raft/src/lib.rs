//! `dougdb-raft`: Raft as a pure, deterministic state machine (etcd-io/raft and
//! tikv/raft-rs style). No I/O, no clock, no randomness but the seed in [`Config`].
//!
//! The caller feeds it ticks ([`RawNode::tick`]), peer messages ([`RawNode::step`]) and
//! requests ([`RawNode::propose`], [`RawNode::propose_conf_change`],
//! [`RawNode::read_index`], [`RawNode::transfer_leader`]), then asks for a [`Ready`].
//!
//! # The `Ready` contract, in order
//!
//! When [`RawNode::has_ready`] is true, call [`RawNode::ready`] and then:
//!
//! 1. **Send `messages`** (any time from now on, even in parallel with step 2). These are
//!    messages of a leader whose term is already durable: its Appends may go out while
//!    its own log write is in progress, because the leader only counts its own entries
//!    toward commitment once they are persisted (step 5).
//! 2. **Persist, in this order:** `snapshot` if any (install it in the log store and load
//!    it into the state machine), then `entries` (append; it replaces any stored suffix
//!    from `entries[0].index`), then `hard_state` if any. All of it must be durable (fsync)
//!    before step 3. [`persist_ready`] / [`RawNode::persist`] do this for a `LogStore`.
//! 3. **Send `persisted_messages`** — only now: votes, vote requests, Append
//!    acknowledgements and every other message that depends on the persisted term, vote
//!    or log. Sending one earlier breaks "one vote per term" or the commit rule on a crash.
//! 4. **Apply `committed_entries`** to the state machine, in order, exactly once (they
//!    may include entries persisted in step 2). `EntryKind::Noop` entries carry nothing;
//!    `EntryKind::ConfChange` entries decode with [`ConfChangeRecord::decode`] (Raft has
//!    already switched configuration; the application only updates e.g. its address book).
//!    Serve each `read_states` entry once the applied index reaches its `index`.
//! 5. **Call [`RawNode::advance`]**: marks the entries and hard state persisted (a leader
//!    now counts its own log toward commitment) and the committed entries applied. Call it
//!    before the next `ready()`. `tick`/`step`/`propose` may be called between `ready`
//!    and `advance`; their effects appear in the next `Ready`.
//!
//! After applying, the application may snapshot its state at an applied index `i` and
//! call [`RawNode::compact`]`(i, data)`: the store keeps the snapshot and drops entries
//! up to `i`; followers that need them get the snapshot in chunks.
//!
//! See `docs/raft.md` for invariants, options and the membership-change argument.

mod conf_change;
mod config;
pub mod conformance;
mod election;
mod error;
mod heartbeat;
mod inflights;
mod lease;
mod membership;
mod message;
mod prng;
mod progress;
mod raft;
mod raft_log;
mod raw_node;
mod read_index;
mod read_only;
mod ready;
mod replication;
mod snapshot;
mod storage;
mod tracker;
mod transfer;
mod types;

#[cfg(test)]
mod tests;

pub use conf_change::{ConfChange, ConfChangeKind, ConfChangeRecord};
pub use config::{Config, ReadOnlyOption};
pub use error::{DropReason, Error, Result};
pub use message::{
    AppendRequest, AppendResponse, HeartbeatRequest, HeartbeatResponse, Message, MessageBody,
    ReadIndexRequest, ReadIndexResponse, SnapshotChunk, SnapshotResponse, VoteRequest,
    VoteResponse,
};
pub use prng::SplitMix64;
pub use progress::ProgressState;
pub use raw_node::RawNode;
pub use ready::{PeerStatus, ReadState, Ready, SoftState, Status, persist_ready};
pub use storage::{LogStore, MemLogStore, SnapshotRead};
pub use types::{
    ConfState, ENTRY_OVERHEAD_BYTES, Entry, EntryKind, HardState, LogIndex, NodeId, Role, Snapshot,
    SnapshotMetadata, Term,
};
