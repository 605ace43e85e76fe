//! One shard replica's task: a `RawNode` on a [`WalLogStore`] plus its [`StateMachine`],
//! driven by ticks, peer messages and client requests, and the Ready loop in the order of
//! the `dougdb_raft` contract:
//!
//! 1. send `messages` at once;
//! 2. `persist` (buffered WAL writes) and start `wait_durable(end)` on a blocking thread,
//!    so the leader's fsync overlaps replication. While it runs the task keeps stepping
//!    messages and accepting proposals: they land in the next Ready (group commit);
//! 3. once durable: send `persisted_messages`;
//! 4. apply `committed_entries`, answer proposal waiters keyed by (index, term), serve
//!    `read_states` once applied;
//! 5. `advance`.
//!
//! One deliberate relaxation (as etcd's `MustSync`): a Ready whose only durable change is
//! the commit index is written but not fsynced. A lost commit index is re-learnt from the
//! leader, and at start-up the node raises the stored commit to the state machine's
//! flushed applied index (applied entries were durable before they were applied).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dougdb_raft::{
    ConfChange, ConfChangeKind, ConfChangeRecord, ConfState, Entry, EntryKind, LogIndex, LogStore,
    NodeId, RawNode, Ready, Role, Term,
};
use parking_lot::RwLock;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

mod snapshot;

use super::answer::{ReadReply, Waiter, outcome, raft_err};
use super::handle::Request;
use crate::error::{Error, Result};
use crate::metrics::ShardMetrics;
use crate::raft_store::WalLogStore;
use crate::state_machine::StateMachine;
use crate::transport::Transport;

/// Most Raft ticks caught up at once after a stall: over twice the longest election
/// timeout (30 ticks), so every election and lease timer has run out by then.
const MAX_CATCH_UP_TICKS: u32 = 64;

/// A replica's task state.
pub struct Replica {
    pub(crate) shard: u64,
    pub(crate) raw: RawNode<WalLogStore>,
    pub(crate) sm: Arc<RwLock<StateMachine>>,
    pub(crate) transport: Arc<Transport>,
    pub(crate) leader: Arc<AtomicU64>,
    /// Membership as of the last applied change (for `ClusterMap`).
    pub(crate) conf: Arc<RwLock<ConfState>>,
    pub(crate) tick: Duration,
    /// This replica's counters.
    pub(crate) metrics: Arc<ShardMetrics>,
    /// Compact the log every this many applied entries (`None`: never).
    pub(crate) snapshot_entries: Option<u64>,
    /// The node's cluster map, told about every applied membership change.
    pub(crate) cluster: Option<Arc<crate::cluster::LiveCluster>>,
    role: Role,
    /// Term and vote as last made durable: a Ready whose hard state changes only the
    /// commit index needs no fsync (the commit is recomputed from a quorum, and applied
    /// entries are durable).
    synced_term_vote: (Term, Option<NodeId>),
    /// Proposals waiting for their entry to apply: index -> (term proposed in, reply).
    waiters: BTreeMap<u64, (Term, Waiter)>,
    /// Reads arrived since the last `read_index` call (one ReadIndex round serves them all).
    reads_new: Vec<ReadReply>,
    /// ReadIndex rounds in flight, by context.
    reads_by_ctx: HashMap<u64, Vec<ReadReply>>,
    /// Confirmed reads waiting for apply: (read index, reply).
    reads_confirmed: Vec<(u64, ReadReply)>,
    next_ctx: u64,
}

impl std::fmt::Debug for Replica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replica")
            .field("shard", &self.shard)
            .finish_non_exhaustive()
    }
}

impl Replica {
    /// A replica ready to run.
    pub fn new(
        shard: u64,
        raw: RawNode<WalLogStore>,
        sm: Arc<RwLock<StateMachine>>,
        transport: Arc<Transport>,
        leader: Arc<AtomicU64>,
        conf: Arc<RwLock<ConfState>>,
        tick: Duration,
    ) -> Result<Replica> {
        *conf.write() = raw.status().conf_state;
        let hs = raw.store().hard_state()?;
        let synced_term_vote = (hs.term, hs.vote);
        Ok(Replica {
            shard,
            raw,
            sm,
            transport,
            leader,
            conf,
            tick,
            metrics: Arc::default(),
            snapshot_entries: None,
            cluster: None,
            role: Role::Follower,
            synced_term_vote,
            waiters: BTreeMap::new(),
            reads_new: Vec::new(),
            reads_by_ctx: HashMap::new(),
            reads_confirmed: Vec::new(),
            next_ctx: 1,
        })
    }

    /// Runs until `rx` closes or `stop` flips; flushes the state machine on a clean stop.
    pub async fn run(mut self, mut rx: mpsc::Receiver<Request>, mut stop: watch::Receiver<bool>) {
        if let Err(e) = self.run_loop(&mut rx, &mut stop).await {
            tracing::error!(shard = self.shard, error = %e, "replica stopped on an error");
        }
        if let Err(e) = self.sm.read().db().flush() {
            tracing::warn!(shard = self.shard, error = %e, "flush at shutdown failed");
        }
    }

    async fn run_loop(
        &mut self,
        rx: &mut mpsc::Receiver<Request>,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<()> {
        let mut next_tick = Instant::now() + self.tick;
        let tick_timer = tokio::time::sleep_until(next_tick.into());
        tokio::pin!(tick_timer);
        let mut inflight: Option<(Ready, JoinHandle<Result<()>>)> = None;
        loop {
            // Logical time first: a read must never be judged against a clock that stood
            // still while the process was stopped (the leader lease depends on it).
            let before = next_tick;
            self.catch_up_ticks(&mut next_tick)?;
            if next_tick != before {
                tick_timer.as_mut().reset(next_tick.into());
            }
            self.start_read_round();
            if inflight.is_none() && self.raw.has_ready() {
                inflight = self.start_ready()?;
                continue;
            }
            tokio::select! {
                done = async { match inflight.as_mut() {
                    Some((_, h)) => h.await,
                    None => std::future::pending().await,
                } } => {
                    let Some((rd, _)) = inflight.take() else { continue };
                    done.map_err(|e| Error::Unavailable { reason: format!("fsync task: {e}") })??;
                    self.finish_ready(rd)?;
                }
                () = &mut tick_timer => {}
                req = rx.recv() => match req {
                    Some(r) => self.handle(r)?,
                    None => return Ok(()),
                },
                _ = stop.changed() => return Ok(()),
            }
        }
    }

    /// Ticks Raft once for every tick period that has passed by the monotonic clock, so
    /// that after a stall (SIGSTOP, CPU starvation) Raft's timers and the leader lease see
    /// the time that really went by before anything else is stepped. At most
    /// `MAX_CATCH_UP_TICKS` at once: by then every election and lease timer has run out.
    fn catch_up_ticks(&mut self, next_tick: &mut Instant) -> Result<()> {
        let now = Instant::now();
        let mut ticked = 0;
        while *next_tick <= now {
            if ticked == MAX_CATCH_UP_TICKS {
                *next_tick = now + self.tick;
                break;
            }
            self.raw.tick()?;
            ticked += 1;
            *next_tick += self.tick;
        }
        if ticked > 1 {
            self.metrics
                .late_ticks
                .fetch_add(u64::from(ticked - 1), Ordering::Relaxed);
        }
        Ok(())
    }

    fn handle(&mut self, req: Request) -> Result<()> {
        match req {
            Request::Step(m) => {
                if let Err(e) = self.raw.step(m) {
                    if matches!(e, dougdb_raft::Error::Storage { .. }) {
                        return Err(e.into());
                    }
                    tracing::debug!(shard = self.shard, error = %e, "step refused");
                }
            }
            Request::Propose { data, reply } => match self.propose(|raw| raw.propose(data)) {
                Ok((index, term)) => {
                    self.waiters.insert(index, (term, Waiter::Write(reply)));
                }
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            },
            Request::ConfChange { change, reply } => {
                match self.propose(|raw| raw.propose_conf_change(change)) {
                    Ok((index, term)) => {
                        self.waiters.insert(index, (term, Waiter::Conf(reply)));
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            // On a follower the round is forwarded to the leader (Raft's ReadIndex
            // forwarding); the read is served here once this replica applied up to the
            // leader's confirmed commit index. With no leader known: NotLeader.
            Request::ReadIndex { reply } => self.reads_new.push(reply),
            Request::Status { reply } => {
                let snap = self
                    .raw
                    .store()
                    .snapshot_metadata()
                    .map(|m| m.index.0)
                    .unwrap_or(0);
                let _ = reply.send((self.raw.status(), snap));
            }
            Request::TransferLeader { target, reply } => {
                let r = self
                    .raw
                    .transfer_leader(target)
                    .map_err(|e| raft_err(self.shard, e));
                let _ = reply.send(r);
            }
        }
        Ok(())
    }

    fn not_leader(&self) -> Error {
        Error::NotLeader {
            shard: self.shard,
            leader_hint: match self.leader.load(Ordering::Relaxed) {
                0 => None,
                id => Some(id),
            },
        }
    }

    fn propose(
        &mut self,
        f: impl FnOnce(&mut RawNode<WalLogStore>) -> dougdb_raft::Result<LogIndex>,
    ) -> Result<(u64, Term)> {
        if self.role != Role::Leader {
            return Err(self.not_leader());
        }
        let index = f(&mut self.raw).map_err(|e| raft_err(self.shard, e))?;
        self.metrics.proposals.fetch_add(1, Ordering::Relaxed);
        let term = self
            .raw
            .log_term(index)?
            .ok_or_else(|| Error::Unavailable {
                reason: format!("shard {}: proposal at {} vanished", self.shard, index.0),
            })?;
        Ok((index.0, term))
    }

    fn start_read_round(&mut self) {
        if self.reads_new.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.reads_new);
        let ctx = self.next_ctx;
        self.next_ctx += 1;
        match self.raw.read_index(ctx.to_le_bytes().to_vec()) {
            Ok(()) => {
                self.reads_by_ctx.insert(ctx, batch);
            }
            Err(e) => {
                let shard = self.shard;
                let msg = e.to_string();
                for r in batch {
                    let err = match &e {
                        dougdb_raft::Error::NotLeader { leader_hint } => Error::NotLeader {
                            shard,
                            leader_hint: leader_hint.map(|n| n.0),
                        },
                        _ => Error::Unavailable {
                            reason: msg.clone(),
                        },
                    };
                    let _ = r.send(Err(err));
                }
            }
        }
    }

    /// Steps 1-2 of the contract. Returns the Ready and its fsync task when something
    /// must become durable; otherwise finishes the Ready at once.
    fn start_ready(&mut self) -> Result<Option<(Ready, JoinHandle<Result<()>>)>> {
        let mut rd = self.raw.ready()?;
        if let Some(ss) = &rd.soft_state {
            let leader = ss.leader.map_or(0, |n| n.0);
            let leader_changed = self.leader.swap(leader, Ordering::Relaxed) != leader;
            if leader_changed && leader != 0 {
                self.metrics.leader_changes.fetch_add(1, Ordering::Relaxed);
            }
            // Rounds forwarded to a leader that is no longer the leader get no answer.
            if leader_changed && self.role != Role::Leader {
                self.fail_reads();
            }
            if ss.role == Role::Candidate && self.role != Role::Candidate {
                self.metrics.elections.fetch_add(1, Ordering::Relaxed);
            }
            if self.role == Role::Leader && ss.role != Role::Leader {
                self.fail_reads();
            }
            self.role = ss.role;
        }
        self.transport
            .send(self.shard, std::mem::take(&mut rd.messages));
        let term_vote = rd.hard_state.as_ref().map(|hs| (hs.term, hs.vote));
        let must_sync = rd.snapshot.is_some()
            || !rd.entries.is_empty()
            || term_vote.is_some_and(|tv| tv != self.synced_term_vote);
        if let Some(tv) = term_vote {
            self.synced_term_vote = tv;
        }
        self.raw.persist(&rd)?;
        if let Some(snap) = &rd.snapshot {
            self.load_snapshot(snap)?;
        }
        if !must_sync {
            self.finish_ready(rd)?;
            return Ok(None);
        }
        let wal = Arc::clone(self.raw.store().wal());
        let end = wal.end_position();
        let metrics = Arc::clone(&self.metrics);
        let task = tokio::task::spawn_blocking(move || {
            let start = Instant::now();
            wal.wait_durable(end)?;
            metrics.fsyncs.fetch_add(1, Ordering::Relaxed);
            let micros = start.elapsed().as_micros() as u64;
            metrics.fsync_micros.fetch_add(micros, Ordering::Relaxed);
            Ok(())
        });
        // While the fsync runs: committed entries that earlier Readys made durable need
        // not wait for it. Apply them (and answer their clients) now; under load this
        // takes one fsync off every write's latency. The rest apply in `finish_ready`.
        if rd.snapshot.is_none() {
            let first_new = rd.entries.first().map_or(u64::MAX, |e| e.index.0);
            let durable = rd
                .committed_entries
                .iter()
                .take_while(|e| e.index.0 < first_new)
                .count();
            if durable > 0 {
                let early: Vec<Entry> = rd.committed_entries.drain(..durable).collect();
                let applied = self.apply_committed(&early)?;
                self.release_reads(applied);
            }
        }
        Ok(Some((rd, task)))
    }

    /// Steps 3-5 of the contract, once the Ready is durable.
    fn finish_ready(&mut self, mut rd: Ready) -> Result<()> {
        self.transport
            .send(self.shard, std::mem::take(&mut rd.persisted_messages));
        let applied = self.apply_committed(&rd.committed_entries)?;
        for rs in rd.read_states.drain(..) {
            let ctx = rs
                .context
                .as_slice()
                .try_into()
                .map(u64::from_le_bytes)
                .unwrap_or(0);
            for reply in self.reads_by_ctx.remove(&ctx).unwrap_or_default() {
                self.reads_confirmed.push((rs.index.0, reply));
            }
        }
        self.release_reads(applied);
        self.raw.advance()?;
        self.maybe_compact(applied)
    }

    /// Step 4 for `entries`, with its counters; returns the applied index.
    fn apply_committed(&mut self, entries: &[Entry]) -> Result<u64> {
        let applied = self.apply(entries)?;
        let m = &self.metrics;
        m.applied_entries
            .fetch_add(entries.len() as u64, Ordering::Relaxed);
        let commit = self.raw.store().hard_state()?.commit.0;
        m.apply_lag
            .store(commit.saturating_sub(applied), Ordering::Relaxed);
        Ok(applied)
    }

    /// Answers the confirmed reads the state machine has caught up with.
    fn release_reads(&mut self, applied: u64) {
        if self.reads_confirmed.is_empty() {
            return;
        }
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.reads_confirmed)
            .into_iter()
            .partition(|(index, _)| *index <= applied);
        self.reads_confirmed = waiting;
        for (_, reply) in ready {
            let _ = reply.send(Ok(()));
        }
    }

    fn apply(&mut self, entries: &[Entry]) -> Result<u64> {
        let mut sm = self.sm.write();
        for e in entries {
            let applied = sm.apply_entry(e)?;
            let conf = if e.kind == EntryKind::ConfChange {
                let rec = ConfChangeRecord::decode(&e.data)?;
                self.learn_address(&rec.change);
                *self.conf.write() = rec.conf_state.clone();
                Some(rec.conf_state)
            } else {
                None
            };
            let Some((term, waiter)) = self.waiters.remove(&e.index.0) else {
                continue;
            };
            let lost = || Error::Unavailable {
                reason: format!(
                    "shard {}: proposal at index {} lost in a leader change",
                    self.shard, e.index.0
                ),
            };
            match waiter {
                Waiter::Write(reply) => {
                    let answer = if term == e.term {
                        outcome(e.index, applied)
                    } else {
                        Err(lost())
                    };
                    let _ = reply.send(answer);
                }
                Waiter::Conf(reply) => {
                    let answer = match conf {
                        Some(c) if term == e.term => Ok((e.index.0, c)),
                        _ => Err(lost()),
                    };
                    let _ = reply.send(answer);
                }
            }
        }
        Ok(sm.applied_index())
    }

    /// An added member's address travels in its conf change's context: the transport
    /// learns it, and the node's persisted cluster map records the change.
    fn learn_address(&self, change: &ConfChange) {
        let address = match change.kind {
            ConfChangeKind::RemoveNode => None,
            _ if change.context.is_empty() => None,
            _ => match std::str::from_utf8(&change.context) {
                Ok(addr) => {
                    self.transport.add_peer(change.node.0, addr);
                    Some(addr)
                }
                Err(_) => {
                    tracing::warn!(shard = self.shard, "conf change with a non-UTF-8 address");
                    None
                }
            },
        };
        if let Some(cluster) = &self.cluster
            && let Err(e) = cluster.membership_changed(change.node.0, address)
        {
            // The Raft log stays the source of truth for membership; the map is re-learnt
            // when the entry is applied again after a restart.
            tracing::error!(shard = self.shard, error = %e, "saving the cluster map");
        }
    }

    fn fail_reads(&mut self) {
        let pending: Vec<ReadReply> = self
            .reads_by_ctx
            .drain()
            .flat_map(|(_, v)| v)
            .chain(self.reads_new.drain(..))
            .collect();
        for r in pending {
            let _ = r.send(Err(self.not_leader()));
        }
    }
}
