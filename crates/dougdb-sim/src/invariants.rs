//! The Raft safety properties, checked across all nodes as the run goes (one file per
//! concern is overkill at this size; each check is one method):
//!
//! - election safety: at most one leader per term;
//! - leader append-only: a leader never truncates its log during its term;
//! - log matching: an entry `(index, term)` always has the same payload and predecessor
//!   term wherever it appears (so equal entries imply equal prefixes);
//! - leader completeness: a new leader's log holds every entry known committed;
//! - state machine safety: no two nodes apply different entries at one index, and each
//!   node applies indexes in order without gaps;
//! - commit: monotonic per running node, durable commit/term monotonic and one vote per
//!   term across crashes, and a leader's commit index never beyond what a quorum of its
//!   configuration has durably stored.

use std::collections::{BTreeMap, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};

use dougdb_raft::{ConfState, Entry, HardState, LogIndex, NodeId, Role, Status, Term};

/// A broken invariant, described for humans.
pub type Violation = String;

fn digest(e: &Entry) -> u64 {
    let mut h = DefaultHasher::new();
    e.kind.hash(&mut h);
    e.data.hash(&mut h);
    h.finish()
}

#[derive(Clone, Debug, Default)]
struct NodeTrack {
    /// Commit index last seen on the running incarnation.
    commit: LogIndex,
    /// Last applied index of the running incarnation.
    applied: Option<LogIndex>,
    /// Term in which it was leader at the last observation.
    leader_term: Option<Term>,
    /// Last index of its log at the last observation.
    last_index: LogIndex,
    /// Durable hard state after its last sync.
    durable_hs: HardState,
    /// Configuration before the latest one it reported.
    prev_conf: Option<ConfState>,
    conf: Option<ConfState>,
}

/// Cross-node invariant state.
#[derive(Debug, Default)]
pub struct Invariants {
    leaders: HashMap<Term, NodeId>,
    /// Every entry seen appended anywhere: `(index, term) -> (digest, predecessor term)`.
    entries: HashMap<(LogIndex, Term), (u64, Term)>,
    /// Entries known committed (applied somewhere): `index -> (term, digest)`.
    committed: BTreeMap<LogIndex, (Term, u64)>,
    nodes: BTreeMap<NodeId, NodeTrack>,
    /// Number of checks performed (for the summary).
    pub checks: u64,
}

impl Invariants {
    /// Nothing observed yet.
    pub fn new() -> Invariants {
        Invariants::default()
    }

    /// Highest index known committed.
    pub fn max_committed(&self) -> LogIndex {
        self.committed
            .keys()
            .next_back()
            .copied()
            .unwrap_or_default()
    }

    /// Number of terms that had a leader.
    pub fn leader_terms(&self) -> usize {
        self.leaders.len()
    }

    /// Entries known committed.
    pub fn committed(&self) -> &BTreeMap<LogIndex, (Term, u64)> {
        &self.committed
    }

    /// A node (re)started with its state machine at `applied` (its snapshot): its
    /// volatile tracking starts over.
    pub fn restarted(&mut self, node: NodeId, applied: LogIndex) {
        let t = self.nodes.entry(node).or_default();
        t.commit = LogIndex(0);
        t.applied = Some(applied);
        t.leader_term = None;
    }

    /// `node` appended `entries`; `prev_term(i)` is its log's term at `i` (`None` if
    /// compacted away).
    pub fn on_append(
        &mut self,
        node: NodeId,
        entries: &[Entry],
        prev_term: impl Fn(LogIndex) -> Option<Term>,
    ) -> Result<(), Violation> {
        self.checks += 1;
        let Some(first) = entries.first() else {
            return Ok(());
        };
        let track = self.nodes.entry(node).or_default();
        if let Some(t) = track.leader_term
            && first.term == t
            && first.index <= track.last_index
        {
            return Err(format!(
                "leader append-only: {node} (leader of {t}) overwrote its log at {} (last index was {})",
                first.index, track.last_index
            ));
        }
        let mut prev = prev_term(first.index.prev());
        for e in entries {
            let d = digest(e);
            // A lagging node may take entries from a stale leader at an index committed
            // elsewhere; it must never overwrite one it knows is committed.
            let known = e.index <= track.commit;
            if let Some(&(cterm, cd)) = self.committed.get(&e.index).filter(|_| known)
                && (cterm, cd) != (e.term, d)
            {
                return Err(format!(
                    "committed entry overwritten: {node} (commit {}) wrote ({}, {}) over committed ({}, {cterm})",
                    track.commit, e.index, e.term, e.index
                ));
            }
            let key = (e.index, e.term);
            match (self.entries.get(&key), prev) {
                (Some(&(sd, _)), _) if sd != d => {
                    return Err(format!(
                        "log matching: entry ({}, {}) on {node} has a different payload than elsewhere",
                        e.index, e.term
                    ));
                }
                (Some(&(_, sp)), Some(p)) if sp != p => {
                    return Err(format!(
                        "log matching: entry ({}, {}) on {node} follows term {p}, elsewhere term {sp}",
                        e.index, e.term
                    ));
                }
                (None, Some(p)) => {
                    self.entries.insert(key, (d, p));
                }
                _ => {}
            }
            prev = Some(e.term);
        }
        Ok(())
    }

    /// `node` synced `hs` as its durable hard state.
    pub fn on_durable_hard_state(&mut self, node: NodeId, hs: &HardState) -> Result<(), Violation> {
        self.checks += 1;
        let t = self.nodes.entry(node).or_default();
        let old = &t.durable_hs;
        if hs.term < old.term {
            return Err(format!(
                "durable term went back on {node}: {} -> {}",
                old.term, hs.term
            ));
        }
        if hs.term == old.term && old.vote.is_some() && hs.vote != old.vote {
            return Err(format!(
                "one vote per term: {node} voted {:?} then {:?} in {}",
                old.vote, hs.vote, hs.term
            ));
        }
        if hs.commit < old.commit {
            return Err(format!(
                "durable commit went back on {node}: {} -> {}",
                old.commit, hs.commit
            ));
        }
        t.durable_hs = hs.clone();
        Ok(())
    }

    /// `node` applied `entry`.
    pub fn on_apply(&mut self, node: NodeId, entry: &Entry) -> Result<(), Violation> {
        self.checks += 1;
        let d = digest(entry);
        let t = self.nodes.entry(node).or_default();
        if let Some(prev) = t.applied
            && entry.index != prev.next()
        {
            return Err(format!(
                "{node} applied {} right after {prev} (gap or repeat)",
                entry.index
            ));
        }
        t.applied = Some(entry.index);
        match self.committed.get(&entry.index) {
            Some(&(term, cd)) if (term, cd) != (entry.term, d) => Err(format!(
                "state machine safety: {node} applied ({}, {}) but ({}, {term}) was applied elsewhere",
                entry.index, entry.term, entry.index
            )),
            Some(_) => Ok(()),
            None => {
                self.committed.insert(entry.index, (entry.term, d));
                Ok(())
            }
        }
    }

    /// `node` loaded a snapshot at `index`: it continues applying after it.
    pub fn on_snapshot_applied(&mut self, node: NodeId, index: LogIndex) {
        self.nodes.entry(node).or_default().applied = Some(index);
    }

    /// Observes a running node after its `Ready`s. `log_term(i)` is its log's term at `i`;
    /// `durable_holds(n, i, t)` says whether node `n`'s durable image holds entry `(i, t)`
    /// (or a snapshot covering `i`).
    pub fn observe(
        &mut self,
        st: &Status,
        log_term: impl Fn(LogIndex) -> Option<Term>,
        durable_holds: impl Fn(NodeId, LogIndex, Term) -> bool,
    ) -> Result<(), Violation> {
        self.checks += 1;
        let node = st.id;
        let mut track = self.nodes.remove(&node).unwrap_or_default();
        let r = self.observe_inner(st, &mut track, &log_term, &durable_holds);
        self.nodes.insert(node, track);
        r
    }

    fn observe_inner(
        &mut self,
        st: &Status,
        track: &mut NodeTrack,
        log_term: &dyn Fn(LogIndex) -> Option<Term>,
        durable_holds: &dyn Fn(NodeId, LogIndex, Term) -> bool,
    ) -> Result<(), Violation> {
        let node = st.id;
        if st.commit < track.commit {
            return Err(format!(
                "commit went back on {node}: {} -> {}",
                track.commit, st.commit
            ));
        }
        if track.conf.as_ref() != Some(&st.conf_state) {
            track.prev_conf = track.conf.take();
            track.conf = Some(st.conf_state.clone());
        }
        let is_leader = st.role == Role::Leader;
        if is_leader {
            match self.leaders.get(&st.term) {
                Some(&other) if other != node => {
                    return Err(format!(
                        "election safety: {other} and {node} both lead {}",
                        st.term
                    ));
                }
                Some(_) => {}
                None => {
                    self.leaders.insert(st.term, node);
                    self.check_completeness(st, log_term)?;
                }
            }
            if st.commit > track.commit {
                self.check_commit_quorum(st, track, log_term, durable_holds)?;
            }
        }
        track.commit = st.commit;
        track.last_index = st.last_index;
        track.leader_term = is_leader.then_some(st.term);
        Ok(())
    }

    fn check_completeness(
        &self,
        st: &Status,
        log_term: &dyn Fn(LogIndex) -> Option<Term>,
    ) -> Result<(), Violation> {
        let from = st.first_index;
        for (&index, &(term, _)) in self.committed.range(from..) {
            if log_term(index) != Some(term) {
                return Err(format!(
                    "leader completeness: {} leads {} without committed entry ({index}, {term})",
                    st.id, st.term
                ));
            }
        }
        Ok(())
    }

    fn check_commit_quorum(
        &self,
        st: &Status,
        track: &NodeTrack,
        log_term: &dyn Fn(LogIndex) -> Option<Term>,
        durable_holds: &dyn Fn(NodeId, LogIndex, Term) -> bool,
    ) -> Result<(), Violation> {
        let Some(term) = log_term(st.commit) else {
            return Ok(());
        };
        let has_quorum = |conf: &ConfState| {
            let holders = conf
                .voters
                .iter()
                .filter(|v| durable_holds(**v, st.commit, term))
                .count();
            holders * 2 > conf.voters.len()
        };
        if has_quorum(&st.conf_state) || track.prev_conf.as_ref().is_some_and(has_quorum) {
            return Ok(());
        }
        Err(format!(
            "commit beyond quorum: leader {} committed ({}, {term}) but fewer than a quorum of {:?} hold it durably",
            st.id, st.commit, st.conf_state.voters
        ))
    }
}
