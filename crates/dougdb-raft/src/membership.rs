//! Membership: the history of configurations in the log (a node uses the latest one in its
//! log, committed or not: the dissertation's single-server rule), proposing a change (one
//! at a time, only after this leader committed in its term), and a removed leader stepping
//! down once its removal commits.

use crate::conf_change::{ConfChange, ConfChangeRecord};
use crate::error::{Error, Result};
use crate::message::MessageBody;
use crate::progress::Progress;
use crate::raft::Raft;
use crate::storage::LogStore;
use crate::types::{ConfState, Entry, EntryKind, LogIndex, Role};

/// Configurations by the index of the entry that introduced them; the first is the one
/// in force at the snapshot (compaction point).
#[derive(Clone, Debug)]
pub struct ConfHistory {
    confs: Vec<(LogIndex, ConfState)>,
}

impl ConfHistory {
    /// History starting from the snapshot's configuration.
    pub fn new(index: LogIndex, base: ConfState) -> ConfHistory {
        ConfHistory {
            confs: vec![(index, base)],
        }
    }

    /// Forgets everything and starts over at a snapshot.
    pub fn reset(&mut self, index: LogIndex, base: ConfState) {
        self.confs = vec![(index, base)];
    }

    /// Index and value of the latest configuration.
    pub fn latest(&self) -> (LogIndex, &ConfState) {
        let (i, c) = &self.confs[self.confs.len() - 1];
        (*i, c)
    }

    /// The configuration in force at `index`.
    pub fn at(&self, index: LogIndex) -> &ConfState {
        let k = self.confs.partition_point(|(i, _)| *i <= index);
        &self.confs[k.saturating_sub(1)].1
    }

    /// Entries at `from` and after were removed from the log: so are their configurations.
    pub fn truncate_from(&mut self, from: LogIndex) {
        while self.confs.len() > 1 && self.confs[self.confs.len() - 1].0 >= from {
            self.confs.pop();
        }
    }

    /// Records the ConfChange entries among `entries` (appended in order).
    pub fn record_entries(&mut self, entries: &[Entry]) -> Result<()> {
        for e in entries.iter().filter(|e| e.kind == EntryKind::ConfChange) {
            let rec = ConfChangeRecord::decode(&e.data)?;
            self.confs.push((e.index, rec.conf_state));
        }
        Ok(())
    }

    /// The log was compacted up to `index`: the configuration at `index` becomes the base.
    pub fn compact_to(&mut self, index: LogIndex) {
        let k = self
            .confs
            .partition_point(|(i, _)| *i <= index)
            .saturating_sub(1);
        self.confs.drain(..k);
    }
}

impl<S: LogStore> Raft<S> {
    /// The only way entries enter the log: keeps the configuration history in step with it.
    pub(crate) fn log_append(&mut self, entries: &[Entry]) -> Result<()> {
        let Some(first) = entries.first() else {
            return Ok(());
        };
        let before = self.confs.latest().0;
        self.log.append(entries)?;
        self.confs.truncate_from(first.index);
        self.confs.record_entries(entries)?;
        if self.confs.latest().0 != before {
            self.apply_latest_conf()?;
        }
        Ok(())
    }

    /// Makes the latest configuration the one quorums are computed over.
    pub(crate) fn apply_latest_conf(&mut self) -> Result<()> {
        let conf = self.confs.latest().1.clone();
        let next = self.log.last_index()?.next();
        self.tracker.progress.retain(|id, _| conf.contains(*id));
        for id in conf.voters.iter().chain(conf.learners.iter()) {
            let pr = self.tracker.progress.entry(*id).or_insert_with(|| {
                let mut p = Progress::new(
                    next,
                    self.cfg.max_inflight_msgs,
                    self.cfg.max_inflight_bytes,
                );
                // A new member gets an election timeout's grace before check-quorum counts it.
                p.recent_active = true;
                p
            });
            pr.is_learner = conf.learners.contains(id);
        }
        self.tracker.votes.retain(|id, _| conf.voters.contains(id));
        self.tracker.conf = conf;
        // A lease confirmed by the old voters says nothing about the new quorum.
        self.lease.clear();
        if self
            .lead_transferee
            .is_some_and(|t| !self.tracker.is_voter(t))
        {
            self.lead_transferee = None;
        }
        Ok(())
    }

    /// Leader: appends a membership change. One at a time: the previous one must be
    /// committed, and so must an entry of this leader's term.
    pub(crate) fn propose_conf_change(&mut self, change: ConfChange) -> Result<LogIndex> {
        if self.role != Role::Leader {
            return Err(Error::NotLeader {
                leader_hint: self.leader,
            });
        }
        let (pending_index, conf) = self.confs.latest();
        if pending_index > self.log.committed || !self.committed_in_current_term()? {
            return Err(Error::ConfChangePending { pending_index });
        }
        let conf_state = change.apply_to(conf)?;
        let rec = ConfChangeRecord { change, conf_state };
        self.append_as_leader(vec![(EntryKind::ConfChange, rec.encode())])
    }

    /// Leader no longer a voter and its removal committed: hand over and step down.
    pub(crate) fn maybe_step_down_after_removal(&mut self) -> Result<()> {
        if self.role != Role::Leader || self.tracker.is_voter(self.id) {
            return Ok(());
        }
        if self.confs.latest().0 > self.log.committed {
            return Ok(());
        }
        // Speed up the next election: the most caught-up voter campaigns at once.
        let last = self.log.last_index()?;
        let target = self.tracker.conf.voters.iter().copied().find(|id| {
            self.tracker
                .progress
                .get(id)
                .is_some_and(|p| p.matched == last)
        });
        if let Some(t) = target {
            self.send(t, MessageBody::TimeoutNow);
        }
        tracing::debug!(id = self.id.0, "removed from the voters: stepping down");
        self.become_follower(self.term, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_tracks_truncation_and_compaction() {
        let mut h = ConfHistory::new(LogIndex(0), ConfState::with_voters([1, 2, 3]));
        h.confs
            .push((LogIndex(5), ConfState::with_voters([1, 2, 3, 4])));
        h.confs
            .push((LogIndex(9), ConfState::with_voters([1, 2, 4])));
        assert_eq!(h.at(LogIndex(4)), &ConfState::with_voters([1, 2, 3]));
        assert_eq!(h.at(LogIndex(5)), &ConfState::with_voters([1, 2, 3, 4]));
        assert_eq!(h.latest().0, LogIndex(9));
        h.truncate_from(LogIndex(9));
        assert_eq!(h.latest().0, LogIndex(5));
        h.compact_to(LogIndex(7));
        assert_eq!(h.confs.len(), 1);
        assert_eq!(h.at(LogIndex(0)), &ConfState::with_voters([1, 2, 3, 4]));
    }
}
