//! Log replication: leader-side sending (probe / pipelined replicate within the inflight
//! window, batching up to the message limits), the follower's consistency check with the
//! fast-backtracking hint, acknowledgements, and commitment by counting (current term only).

use crate::error::{DropReason, Error, Result};
use crate::message::{AppendRequest, AppendResponse, MessageBody};
use crate::progress::ProgressState;
use crate::raft::Raft;
use crate::storage::LogStore;
use crate::types::{Entry, EntryKind, LogIndex, NodeId, Role};

impl<S: LogStore> Raft<S> {
    /// Leader: appends new entries of the current term and replicates them.
    /// Returns the index of the last one.
    pub(crate) fn append_as_leader(
        &mut self,
        items: Vec<(EntryKind, Vec<u8>)>,
    ) -> Result<LogIndex> {
        if self.role != Role::Leader {
            return Err(Error::NotLeader {
                leader_hint: self.leader,
            });
        }
        if self.lead_transferee.is_some() {
            return Err(Error::ProposalDropped {
                reason: DropReason::LeaderTransfer,
            });
        }
        let mut index = self.log.last_index()?;
        let mut entries = Vec::with_capacity(items.len());
        for (kind, data) in items {
            index = index.next();
            entries.push(Entry {
                term: self.term,
                index,
                kind,
                data,
            });
        }
        self.log_append(&entries)?;
        self.bcast_append()?;
        Ok(index)
    }

    /// Sends an Append (possibly empty) to every peer that is not paused.
    pub(crate) fn bcast_append(&mut self) -> Result<()> {
        for id in self.peers() {
            self.maybe_send_append(id, true)?;
        }
        Ok(())
    }

    /// Sends the next Append to `to` if flow control allows. Returns whether a message
    /// (Append or snapshot chunk) went out.
    pub(crate) fn maybe_send_append(&mut self, to: NodeId, send_if_empty: bool) -> Result<bool> {
        let Some(pr) = self.tracker.progress.get(&to) else {
            return Ok(false);
        };
        if pr.is_paused() {
            return Ok(false);
        }
        let (next, state, full) = (pr.next, pr.state, pr.inflights.full());
        let prev = next.prev();
        let prev_term = match self.log.term(prev) {
            Ok(t) => t,
            Err(Error::Compacted { .. }) => return self.send_snapshot(to),
            Err(e) => return Err(e),
        };
        let last = self.log.last_index()?;
        let mut entries = Vec::new();
        if state != ProgressState::Replicate || !full {
            let hi = last
                .next()
                .min(next.plus(self.cfg.max_entries_per_msg as u64));
            entries = match self.log.entries(next, hi, self.cfg.max_size_per_msg_bytes) {
                Ok(e) => e,
                Err(Error::Compacted { .. }) => return self.send_snapshot(to),
                Err(e) => return Err(e),
            };
        }
        if entries.is_empty() && !send_if_empty {
            return Ok(false);
        }
        let count = entries.len();
        let bytes: u64 = entries.iter().map(Entry::size_bytes).sum();
        let last_sent = entries.last().map_or(prev, |e| e.index);
        let req = AppendRequest {
            prev_log_index: prev,
            prev_log_term: prev_term,
            entries,
            commit: self.log.committed,
        };
        self.send(to, MessageBody::Append(req));
        if let Some(pr) = self.tracker.progress.get_mut(&to) {
            pr.sent_entries(count, last_sent, bytes);
        }
        Ok(true)
    }

    /// Follower: the AppendEntries consistency check and conflict resolution.
    pub(crate) fn handle_append(&mut self, from: NodeId, req: AppendRequest) -> Result<()> {
        let committed = self.log.committed;
        if req.prev_log_index < committed {
            let body = AppendResponse::Success {
                match_index: committed,
            };
            self.send(from, MessageBody::AppendResponse(body));
            return Ok(());
        }
        if self.log.match_term(req.prev_log_index, req.prev_log_term)? {
            let last_new = req.prev_log_index.plus(req.entries.len() as u64);
            if let Some(ci) = self.log.find_conflict(&req.entries)? {
                assert!(
                    ci > committed,
                    "safety: conflict at {ci} <= commit {committed}"
                );
                let start = (ci.0 - req.prev_log_index.0 - 1) as usize;
                self.log_append(&req.entries[start..])?;
            }
            self.log.commit_to(req.commit.min(last_new))?;
            let body = AppendResponse::Success {
                match_index: last_new,
            };
            self.send(from, MessageBody::AppendResponse(body));
            return Ok(());
        }
        let hint = req.prev_log_index.min(self.log.last_index()?);
        let (hint_index, hint_term) = self.log.find_conflict_by_term(hint, req.prev_log_term)?;
        let body = AppendResponse::Reject {
            rejected_index: req.prev_log_index,
            hint_index,
            hint_term,
        };
        self.send(from, MessageBody::AppendResponse(body));
        Ok(())
    }

    /// Leader: processes an acknowledgement or a rejection.
    pub(crate) fn handle_append_response(
        &mut self,
        from: NodeId,
        resp: AppendResponse,
    ) -> Result<()> {
        match resp {
            AppendResponse::Reject {
                rejected_index,
                hint_index,
                hint_term,
            } => {
                let mut probe_from = hint_index;
                if hint_term.0 > 0 {
                    probe_from = self.log.find_conflict_by_term(hint_index, hint_term)?.0;
                }
                let Some(pr) = self.tracker.progress.get_mut(&from) else {
                    return Ok(());
                };
                if pr.maybe_decr_to(rejected_index, probe_from) {
                    if pr.state == ProgressState::Replicate {
                        pr.become_probe();
                    }
                    self.maybe_send_append(from, true)?;
                }
                Ok(())
            }
            AppendResponse::Success { match_index } => {
                self.handle_append_success(from, match_index)
            }
        }
    }

    fn handle_append_success(&mut self, from: NodeId, index: LogIndex) -> Result<()> {
        let first = self.log.first_index()?;
        let Some(pr) = self.tracker.progress.get_mut(&from) else {
            return Ok(());
        };
        let was_paused = pr.is_paused();
        if !pr.maybe_update(index) {
            return Ok(());
        }
        match pr.state {
            ProgressState::Probe => pr.become_replicate(),
            ProgressState::Snapshot if pr.matched.next() >= first => {
                pr.become_probe();
                pr.become_replicate();
            }
            ProgressState::Snapshot => {}
            ProgressState::Replicate => pr.inflights.free_le(index),
        }
        if !self.maybe_commit()? && was_paused {
            self.maybe_send_append(from, true)?;
        }
        if self.role != Role::Leader {
            return Ok(());
        }
        // Fill the window: batching happens here when proposals outpace acknowledgements.
        for _ in 0..self.cfg.max_inflight_msgs {
            if !self.maybe_send_append(from, false)? {
                break;
            }
        }
        let matched = self.tracker.progress.get(&from).map(|p| p.matched);
        if self.lead_transferee == Some(from) && matched == Some(self.log.last_index()?) {
            self.send(from, MessageBody::TimeoutNow);
            // The target campaigns past the followers' lease rule.
            self.lease.disable();
        }
        Ok(())
    }

    /// Leader: advance the commit index to what a quorum has, if it is of this term.
    /// Returns whether it moved (and then broadcasts it).
    pub(crate) fn maybe_commit(&mut self) -> Result<bool> {
        let index = self.tracker.committed_index();
        if !self.log.maybe_commit(index, self.term)? {
            return Ok(false);
        }
        self.bcast_append()?;
        self.after_leader_commit()?;
        Ok(true)
    }

    /// Leader: the commit index moved. Releases reads that waited for the first commit of
    /// this term and steps down if this commit removed the leader from the voters.
    fn after_leader_commit(&mut self) -> Result<()> {
        if self.committed_in_current_term()? {
            while let Some((from, ctx)) = self.pending_reads.pop_front() {
                self.leader_read_index(from, ctx)?;
            }
        }
        self.maybe_step_down_after_removal()
    }

    /// Whether this leader has committed an entry of its own term.
    pub(crate) fn committed_in_current_term(&self) -> Result<bool> {
        Ok(self.log.term_opt(self.log.committed)? == Some(self.term))
    }

    /// Leader: our own log write reached `persisted`; count it towards commitment.
    pub(crate) fn leader_persisted(&mut self) -> Result<()> {
        if self.role != Role::Leader {
            return Ok(());
        }
        let persisted = self.log.persisted_last_index()?;
        if let Some(pr) = self.tracker.progress.get_mut(&self.id) {
            pr.maybe_update(persisted);
        }
        self.maybe_commit()?;
        Ok(())
    }
}
