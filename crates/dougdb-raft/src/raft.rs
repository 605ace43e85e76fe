//! The Raft state machine: state, role transitions (`become_*`), ticks, and the `step`
//! entry point that applies the term rules before dispatching to one step function per
//! role. Elections, replication, snapshots, reads, membership and transfer are `impl Raft`
//! blocks in their own files.

use std::collections::VecDeque;

use crate::config::Config;
use crate::error::Result;
use crate::lease::Lease;
use crate::membership::ConfHistory;
use crate::message::{AppendResponse, Message, MessageBody, ReadIndexResponse, VoteResponse};
use crate::prng::SplitMix64;
use crate::progress::Progress;
use crate::raft_log::RaftLog;
use crate::read_only::ReadOnly;
use crate::ready::ReadState;
use crate::snapshot::IncomingSnapshot;
use crate::storage::LogStore;
use crate::tracker::ProgressTracker;
use crate::types::{HardState, LogIndex, NodeId, Role, Term};

/// The core state machine of one node. Driven by `RawNode`.
#[derive(Debug)]
pub struct Raft<S> {
    pub(crate) id: NodeId,
    pub(crate) cfg: Config,
    pub(crate) term: Term,
    pub(crate) vote: Option<NodeId>,
    pub(crate) role: Role,
    pub(crate) leader: Option<NodeId>,
    pub(crate) log: RaftLog<S>,
    pub(crate) tracker: ProgressTracker,
    pub(crate) confs: ConfHistory,
    /// Messages that may be sent at once (leader, term already durable).
    pub(crate) msgs: Vec<Message>,
    /// Messages that may only be sent once the current Ready is persisted.
    pub(crate) msgs_after_persist: Vec<Message>,
    pub(crate) read_states: Vec<ReadState>,
    pub(crate) read_only: ReadOnly,
    /// ReadIndex requests received before this leader committed an entry of its term.
    pub(crate) pending_reads: VecDeque<(NodeId, Vec<u8>)>,
    pub(crate) incoming_snapshot: Option<IncomingSnapshot>,
    pub(crate) election_elapsed: u32,
    pub(crate) heartbeat_elapsed: u32,
    pub(crate) randomized_election_timeout: u32,
    pub(crate) lead_transferee: Option<NodeId>,
    /// Ticks since this node was built: the clock of the leader lease.
    pub(crate) ticks: u64,
    /// The leader lease (lease-based reads only).
    pub(crate) lease: Lease,
    /// A restarted node with lease-based reads refuses votes for its first election
    /// timeout: before the crash it may have answered the heartbeat a lease counts on.
    restart_vote_guard: bool,
    /// Term of the last hard state the caller persisted (drives message routing).
    pub(crate) persisted_term: Term,
    rng: SplitMix64,
}

impl<S: LogStore> Raft<S> {
    /// Builds a node from its config and persisted store (a restart or a fresh node).
    pub fn new(cfg: Config, store: S) -> Result<Raft<S>> {
        cfg.validate()?;
        let hs = store.hard_state()?;
        let snap = store.snapshot_metadata()?;
        let log = RaftLog::new(store, hs.commit, cfg.applied)?;
        let restart_vote_guard =
            cfg.lease_reads() && (hs != HardState::default() || log.last_index()? > LogIndex(0));
        let mut confs = ConfHistory::new(snap.index, snap.conf_state);
        confs.record_entries(&log.all_entries()?)?;
        let mut r = Raft {
            id: cfg.id,
            rng: SplitMix64::new(cfg.seed),
            cfg,
            term: hs.term,
            vote: hs.vote,
            role: Role::Follower,
            leader: None,
            log,
            tracker: ProgressTracker::default(),
            confs,
            msgs: Vec::new(),
            msgs_after_persist: Vec::new(),
            read_states: Vec::new(),
            read_only: ReadOnly::default(),
            pending_reads: VecDeque::new(),
            incoming_snapshot: None,
            election_elapsed: 0,
            heartbeat_elapsed: 0,
            randomized_election_timeout: 0,
            lead_transferee: None,
            ticks: 0,
            lease: Lease::default(),
            restart_vote_guard,
            persisted_term: hs.term,
        };
        r.apply_latest_conf()?;
        r.become_follower(hs.term, None)?;
        Ok(r)
    }

    /// The hard state as it stands (to be persisted when it changed).
    pub fn hard_state(&self) -> HardState {
        HardState {
            term: self.term,
            vote: self.vote,
            commit: self.log.committed,
        }
    }

    /// Whether this node may campaign: a voter of its latest configuration.
    pub fn promotable(&self) -> bool {
        self.tracker.is_voter(self.id)
    }

    /// Queues `body` to `to` in the current term.
    pub(crate) fn send(&mut self, to: NodeId, body: MessageBody) {
        let term = self.term;
        self.send_with_term(to, term, body);
    }

    /// Queues a message. A leader whose term is durable may send at once (its Appends go
    /// out in parallel with its own log write); everything else waits for persistence.
    pub(crate) fn send_with_term(&mut self, to: NodeId, term: Term, body: MessageBody) {
        let m = Message {
            from: self.id,
            to,
            term,
            body,
        };
        if self.role == Role::Leader && self.term == self.persisted_term {
            self.msgs.push(m);
        } else {
            self.msgs_after_persist.push(m);
        }
    }

    fn reset(&mut self, term: Term) -> Result<()> {
        if term != self.term {
            self.term = term;
            self.vote = None;
        }
        self.leader = None;
        self.election_elapsed = 0;
        self.heartbeat_elapsed = 0;
        self.randomized_election_timeout = self
            .rng
            .range_u32(self.cfg.election_tick, 2 * self.cfg.election_tick);
        self.lead_transferee = None;
        self.lease.clear();
        self.tracker.votes.clear();
        self.read_only.clear();
        self.pending_reads.clear();
        let last = self.log.last_index()?;
        let persisted = self.log.persisted_last_index()?;
        let ids: Vec<NodeId> = self.members();
        self.tracker.progress.clear();
        for id in ids {
            let mut pr = Progress::new(
                last.next(),
                self.cfg.max_inflight_msgs,
                self.cfg.max_inflight_bytes,
            );
            pr.is_learner = self.tracker.conf.learners.contains(&id);
            if id == self.id {
                pr.matched = persisted;
            }
            self.tracker.progress.insert(id, pr);
        }
        Ok(())
    }

    pub(crate) fn members(&self) -> Vec<NodeId> {
        let conf = &self.tracker.conf;
        conf.voters
            .iter()
            .chain(conf.learners.iter())
            .copied()
            .collect()
    }

    pub(crate) fn peers(&self) -> Vec<NodeId> {
        self.tracker
            .progress
            .keys()
            .copied()
            .filter(|id| *id != self.id)
            .collect()
    }

    /// Follow `leader` (if known) in `term`.
    pub fn become_follower(&mut self, term: Term, leader: Option<NodeId>) -> Result<()> {
        self.reset(term)?;
        self.role = Role::Follower;
        self.leader = leader;
        tracing::debug!(id = self.id.0, term = term.0, "became follower");
        Ok(())
    }

    pub(crate) fn become_pre_candidate(&mut self) {
        assert!(
            self.role != Role::Leader,
            "leader cannot become pre-candidate"
        );
        self.tracker.votes.clear();
        self.role = Role::PreCandidate;
        self.leader = None;
    }

    pub(crate) fn become_candidate(&mut self) -> Result<()> {
        assert!(self.role != Role::Leader, "leader cannot become candidate");
        self.reset(self.term.next())?;
        self.vote = Some(self.id);
        self.role = Role::Candidate;
        tracing::debug!(id = self.id.0, term = self.term.0, "became candidate");
        Ok(())
    }

    pub(crate) fn become_leader(&mut self) -> Result<()> {
        assert!(
            self.role != Role::Follower,
            "follower cannot become leader directly"
        );
        self.reset(self.term)?;
        self.role = Role::Leader;
        self.leader = Some(self.id);
        if let Some(pr) = self.tracker.progress.get_mut(&self.id) {
            let persisted = pr.matched;
            pr.become_replicate();
            pr.matched = persisted;
            pr.recent_active = true;
        }
        tracing::debug!(id = self.id.0, term = self.term.0, "became leader");
        // The no-op lets this leader commit (and so learn the commit index) in its term.
        self.append_as_leader(vec![(crate::types::EntryKind::Noop, Vec::new())])?;
        Ok(())
    }

    /// Advances the logical clock by one tick.
    pub fn tick(&mut self) -> Result<()> {
        self.ticks = self.ticks.saturating_add(1);
        if self.role == Role::Leader {
            self.tick_heartbeat()
        } else {
            self.tick_election()
        }
    }

    fn tick_election(&mut self) -> Result<()> {
        self.election_elapsed = self.election_elapsed.saturating_add(1);
        if self.promotable() && self.election_elapsed >= self.randomized_election_timeout {
            self.election_elapsed = 0;
            self.hup(false)?;
        }
        Ok(())
    }

    fn tick_heartbeat(&mut self) -> Result<()> {
        self.heartbeat_elapsed = self.heartbeat_elapsed.saturating_add(1);
        self.election_elapsed = self.election_elapsed.saturating_add(1);
        if self.election_elapsed >= self.cfg.election_tick {
            self.election_elapsed = 0;
            if self.cfg.check_quorum {
                if !self.tracker.quorum_active(self.id) {
                    tracing::debug!(id = self.id.0, "check-quorum failed: stepping down");
                    return self.become_follower(self.term, None);
                }
                let me = self.id;
                for (id, pr) in self.tracker.progress.iter_mut() {
                    pr.recent_active = *id == me;
                }
            }
            // A transfer that did not finish within an election timeout is abandoned.
            self.lead_transferee = None;
        }
        if self.heartbeat_elapsed >= self.cfg.heartbeat_tick {
            self.heartbeat_elapsed = 0;
            self.bcast_heartbeat();
        }
        Ok(())
    }

    /// Whether this node refuses (pre-)votes that do not come from a leader transfer: it
    /// heard from a live leader within an election timeout, or (lease-based reads) it
    /// restarted less than an election timeout ago. The leader lease relies on this rule.
    fn in_lease(&self) -> bool {
        let election_tick = u64::from(self.cfg.election_tick);
        self.cfg.check_quorum
            && ((self.leader.is_some() && self.election_elapsed < self.cfg.election_tick)
                || (self.restart_vote_guard && self.ticks < election_tick))
    }

    /// Processes one message from a peer.
    pub fn step(&mut self, m: Message) -> Result<()> {
        if m.term > self.term {
            if let MessageBody::Vote(req) | MessageBody::PreVote(req) = &m.body
                && self.in_lease()
                && !req.transfer
            {
                // A live leader is known (or we just restarted): do not help depose it
                // (nor bump our term).
                return Ok(());
            }
            match &m.body {
                MessageBody::PreVote(_) => {}
                MessageBody::PreVoteResponse(r) if !r.reject => {}
                MessageBody::Append(_) | MessageBody::Heartbeat(_) | MessageBody::Snapshot(_) => {
                    self.become_follower(m.term, Some(m.from))?;
                }
                _ => self.become_follower(m.term, None)?,
            }
        } else if m.term < self.term {
            match &m.body {
                MessageBody::Append(_) | MessageBody::Heartbeat(_)
                    if self.cfg.check_quorum || self.cfg.pre_vote =>
                {
                    // Tell a stale leader about our term so it steps down; otherwise a node
                    // isolated with a higher term could never rejoin (pre-vote keeps it
                    // from disrupting us, check-quorum keeps the leader from ignoring it).
                    let body = AppendResponse::Success {
                        match_index: LogIndex(0),
                    };
                    self.send(m.from, MessageBody::AppendResponse(body));
                }
                MessageBody::PreVote(_) => {
                    let body = VoteResponse { reject: true };
                    self.send(m.from, MessageBody::PreVoteResponse(body));
                }
                _ => {}
            }
            return Ok(());
        }
        match &m.body {
            MessageBody::Vote(req) => self.handle_vote_request(&m, req, false),
            MessageBody::PreVote(req) => self.handle_vote_request(&m, req, true),
            _ => match self.role {
                Role::Follower => self.step_follower(m),
                Role::PreCandidate | Role::Candidate => self.step_candidate(m),
                Role::Leader => self.step_leader(m),
            },
        }
    }

    fn step_follower(&mut self, m: Message) -> Result<()> {
        match m.body {
            MessageBody::Append(req) => {
                self.election_elapsed = 0;
                self.leader = Some(m.from);
                self.handle_append(m.from, req)
            }
            MessageBody::Heartbeat(req) => {
                self.election_elapsed = 0;
                self.leader = Some(m.from);
                self.handle_heartbeat(m.from, req)
            }
            MessageBody::Snapshot(chunk) => {
                self.election_elapsed = 0;
                self.leader = Some(m.from);
                self.handle_snapshot_chunk(m.from, chunk)
            }
            MessageBody::TimeoutNow => self.handle_timeout_now(),
            MessageBody::ReadIndexResponse(ReadIndexResponse { context, index }) => {
                self.read_states.push(ReadState { index, context });
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn step_candidate(&mut self, m: Message) -> Result<()> {
        match m.body {
            MessageBody::Append(req) => {
                self.become_follower(m.term, Some(m.from))?;
                self.handle_append(m.from, req)
            }
            MessageBody::Heartbeat(req) => {
                self.become_follower(m.term, Some(m.from))?;
                self.handle_heartbeat(m.from, req)
            }
            MessageBody::Snapshot(chunk) => {
                self.become_follower(m.term, Some(m.from))?;
                self.handle_snapshot_chunk(m.from, chunk)
            }
            MessageBody::PreVoteResponse(r) if self.role == Role::PreCandidate => {
                self.handle_vote_response(m.from, !r.reject)
            }
            MessageBody::VoteResponse(r) if self.role == Role::Candidate => {
                self.handle_vote_response(m.from, !r.reject)
            }
            _ => Ok(()),
        }
    }

    fn step_leader(&mut self, m: Message) -> Result<()> {
        if let Some(pr) = self.tracker.progress.get_mut(&m.from) {
            pr.recent_active = true;
        }
        match m.body {
            MessageBody::AppendResponse(r) => self.handle_append_response(m.from, r),
            MessageBody::HeartbeatResponse(r) => self.handle_heartbeat_response(m.from, r),
            MessageBody::SnapshotResponse(r) => self.handle_snapshot_response(m.from, r),
            MessageBody::ReadIndex(r) => {
                // A forwarded read that cannot be queued is dropped: the follower retries.
                match self.leader_read_index(m.from, r.context) {
                    Err(e) if !e.is_retryable() => Err(e),
                    _ => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }
}
