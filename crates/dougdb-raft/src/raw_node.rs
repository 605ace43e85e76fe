//! `RawNode`: the public face of the state machine. Inputs (`tick`, `step`, `propose`,
//! ...) change state; `ready` collects the resulting work; `advance` records that the
//! caller carried it out.

use std::collections::BTreeMap;

use crate::conf_change::ConfChange;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::message::Message;
use crate::raft::Raft;
use crate::ready::{PeerStatus, Ready, SoftState, Status, persist_ready};
use crate::storage::LogStore;
use crate::types::{
    Entry, EntryKind, HardState, LogIndex, NodeId, Role, Snapshot, SnapshotMetadata, Term,
};

/// What the last `ready()` handed out, so `advance()` can mark it done.
#[derive(Clone, Debug, Default)]
struct Handed {
    last_entry: Option<(LogIndex, Term)>,
    snapshot: Option<LogIndex>,
    hard_state: Option<HardState>,
    applied_to: Option<LogIndex>,
}

/// A Raft node without I/O. See the crate docs for the `Ready` contract.
#[derive(Debug)]
pub struct RawNode<S: LogStore> {
    raft: Raft<S>,
    prev_soft: SoftState,
    prev_hard: HardState,
    handed: Option<Handed>,
}

impl<S: LogStore> RawNode<S> {
    /// A node over `store` (fresh, or restarting from what it persisted).
    pub fn new(cfg: Config, store: S) -> Result<RawNode<S>> {
        let raft = Raft::new(cfg, store)?;
        let prev_hard = raft.hard_state();
        let prev_soft = SoftState {
            leader: raft.leader,
            role: raft.role,
        };
        Ok(RawNode {
            raft,
            prev_soft,
            prev_hard,
            handed: None,
        })
    }

    /// One tick of the logical clock (10 ms in DougDB).
    pub fn tick(&mut self) -> Result<()> {
        self.raft.tick()
    }

    /// Delivers a message from a peer. Messages from stale terms are answered or ignored.
    pub fn step(&mut self, m: Message) -> Result<()> {
        if m.to != self.raft.id {
            return Err(Error::Misaddressed { to: m.to });
        }
        self.raft.step(m)
    }

    /// Starts an election now (bootstrap, tests). Pre-vote still applies if enabled.
    pub fn campaign(&mut self) -> Result<()> {
        self.raft.hup(false)
    }

    /// Leader: appends `data` and returns its index (its term is `status().term`).
    /// `NotLeader` elsewhere; `ProposalDropped` during a leader transfer.
    pub fn propose(&mut self, data: Vec<u8>) -> Result<LogIndex> {
        self.raft.append_as_leader(vec![(EntryKind::Normal, data)])
    }

    /// Leader: appends several entries at once (one Append per follower); returns the last index.
    pub fn propose_batch(&mut self, batch: Vec<Vec<u8>>) -> Result<LogIndex> {
        let items = batch.into_iter().map(|d| (EntryKind::Normal, d)).collect();
        self.raft.append_as_leader(items)
    }

    /// Leader: proposes a membership change (in force as soon as it is in the log).
    pub fn propose_conf_change(&mut self, change: ConfChange) -> Result<LogIndex> {
        self.raft.propose_conf_change(change)
    }

    /// Requests a linearizable read; answered by a `ReadState` carrying `context`.
    pub fn read_index(&mut self, context: Vec<u8>) -> Result<()> {
        self.raft.read_index(context)
    }

    /// Leader: hands leadership to voter `to`.
    pub fn transfer_leader(&mut self, to: NodeId) -> Result<()> {
        self.raft.transfer_leader(to)
    }

    fn soft_state(&self) -> SoftState {
        SoftState {
            leader: self.raft.leader,
            role: self.raft.role,
        }
    }

    /// Whether `ready()` would return any work.
    pub fn has_ready(&self) -> bool {
        let r = &self.raft;
        self.soft_state() != self.prev_soft
            || r.hard_state() != self.prev_hard
            || r.log.unstable_snapshot.is_some()
            || !r.log.unstable_entries().is_empty()
            || !r.msgs.is_empty()
            || !r.msgs_after_persist.is_empty()
            || !r.read_states.is_empty()
            || (r.log.unstable_snapshot.is_none() && r.log.committed > r.log.applied)
    }

    /// Collects the pending work. Call `advance` once it is carried out and before the
    /// next `ready` (other calls in between are allowed).
    pub fn ready(&mut self) -> Result<Ready> {
        assert!(
            self.handed.is_none(),
            "ready() called twice without advance()"
        );
        let r = &mut self.raft;
        let committed_entries = r
            .log
            .next_committed_entries(r.cfg.max_committed_size_per_ready_bytes)?;
        let entries = r.log.unstable_entries().to_vec();
        let snapshot = r.log.unstable_snapshot.clone();
        let hs = r.hard_state();
        let hard_state = (hs != self.prev_hard).then_some(hs.clone());
        let soft = SoftState {
            leader: r.leader,
            role: r.role,
        };
        let soft_state = (soft != self.prev_soft).then_some(soft.clone());
        let rd = Ready {
            soft_state,
            hard_state: hard_state.clone(),
            snapshot,
            entries,
            messages: std::mem::take(&mut r.msgs),
            persisted_messages: std::mem::take(&mut r.msgs_after_persist),
            committed_entries,
            read_states: std::mem::take(&mut r.read_states),
        };
        self.handed = Some(Handed {
            last_entry: rd.entries.last().map(|e| (e.index, e.term)),
            snapshot: rd.snapshot.as_ref().map(|s| s.metadata.index),
            hard_state,
            applied_to: rd
                .committed_entries
                .last()
                .map(|e| e.index)
                .or(rd.snapshot.as_ref().map(|s| s.metadata.index)),
        });
        self.prev_soft = soft;
        self.prev_hard = hs;
        Ok(rd)
    }

    /// Writes the durable parts of `rd` to this node's own store (snapshot, entries, hard
    /// state), for callers whose store is the `LogStore` itself.
    pub fn persist(&mut self, rd: &Ready) -> Result<()> {
        persist_ready(&mut self.raft.log.store, rd)
    }

    /// The last `Ready` is persisted, its messages sent, its committed entries applied.
    pub fn advance(&mut self) -> Result<()> {
        let Some(h) = self.handed.take() else {
            return Ok(());
        };
        let r = &mut self.raft;
        if let Some(index) = h.snapshot {
            r.log.stable_snapshot_to(index);
        }
        if let Some((index, term)) = h.last_entry {
            r.log.stable_to(index, term);
        }
        if let Some(hs) = h.hard_state {
            r.persisted_term = hs.term;
        }
        if let Some(index) = h.applied_to {
            r.log.applied_to(index);
        }
        r.leader_persisted()
    }

    /// Log compaction after the application snapshotted its state at `index` (which it has
    /// applied): stores the snapshot and drops the entries it covers.
    pub fn compact(&mut self, index: LogIndex, data: Vec<u8>) -> Result<()> {
        let r = &mut self.raft;
        if index > r.log.applied {
            return Err(Error::InvalidArgument {
                reason: "compacting past the applied index",
                index,
            });
        }
        let metadata = SnapshotMetadata {
            index,
            term: r.log.term(index)?,
            conf_state: r.confs.at(index).clone(),
        };
        r.log.store.compact(Snapshot { metadata, data })?;
        r.confs.compact_to(index);
        Ok(())
    }

    /// Current state, with per-peer progress on the leader.
    pub fn status(&self) -> Status {
        let r = &self.raft;
        let mut progress = BTreeMap::new();
        if r.role == Role::Leader {
            for (id, p) in &r.tracker.progress {
                progress.insert(
                    *id,
                    PeerStatus {
                        matched: p.matched,
                        next: p.next,
                        state: p.state,
                        inflight_msgs: p.inflights.count(),
                        inflight_bytes: p.inflights.bytes(),
                        recent_active: p.recent_active,
                        is_learner: p.is_learner,
                    },
                );
            }
        }
        Status {
            id: r.id,
            role: r.role,
            term: r.term,
            vote: r.vote,
            leader: r.leader,
            commit: r.log.committed,
            applied: r.log.applied,
            first_index: r.log.first_index().unwrap_or_default(),
            last_index: r.log.last_index().unwrap_or_default(),
            conf_state: r.tracker.conf.clone(),
            lead_transferee: r.lead_transferee,
            progress,
        }
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.raft.id
    }

    /// The whole log as this node sees it (persisted + unstable), for invariant checkers.
    pub fn log_entries(&self) -> Result<Vec<Entry>> {
        self.raft.log.all_entries()
    }

    /// Term of the entry at `index` as this node sees it (`None` if compacted or absent).
    pub fn log_term(&self, index: LogIndex) -> Result<Option<Term>> {
        self.raft.log.term_opt(index)
    }

    /// The log store.
    pub fn store(&self) -> &S {
        &self.raft.log.store
    }

    /// The log store, for a caller persisting `Ready`s itself.
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.raft.log.store
    }

    /// Consumes the node, returning its store (e.g. to restart from it).
    pub fn into_store(self) -> S {
        self.raft.log.store
    }
}
