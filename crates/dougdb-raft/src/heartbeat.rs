//! Heartbeats: leader liveness (resets follower election timers), commit propagation to
//! followers that are up to date, the carrier of read-index confirmation rounds, and the
//! leader's cue to resume a paused or stalled follower.

use crate::error::Result;
use crate::message::{AppendRequest, HeartbeatRequest, HeartbeatResponse, MessageBody};
use crate::progress::ProgressState;
use crate::raft::Raft;
use crate::storage::LogStore;
use crate::types::NodeId;

impl<S: LogStore> Raft<S> {
    /// Leader: one heartbeat to every peer, carrying the newest pending read round (with
    /// lease-based reads, a fresh round, so that its answers renew the lease).
    pub(crate) fn bcast_heartbeat(&mut self) {
        let round = if self.cfg.lease_reads() {
            self.read_only.next_round()
        } else {
            self.read_only.latest_round()
        };
        self.bcast_heartbeat_with_round(round);
    }

    pub(crate) fn bcast_heartbeat_with_round(&mut self, read_round: u64) {
        if self.cfg.lease_reads() && read_round != 0 {
            let election_tick = self.cfg.election_tick;
            self.lease
                .start_round(read_round, self.ticks, self.id, election_tick);
        }
        for id in self.peers() {
            let matched = self
                .tracker
                .progress
                .get(&id)
                .map_or(self.log.committed, |p| p.matched);
            // Never tell a follower to commit past what it is known to hold.
            let commit = matched.min(self.log.committed);
            self.send(
                id,
                MessageBody::Heartbeat(HeartbeatRequest { commit, read_round }),
            );
        }
    }

    /// Follower: learn the commit index and answer (echoing the read round).
    /// A commit past the last index means this log lost entries it acknowledged: commit
    /// what it holds and tell the leader where the log ends.
    pub(crate) fn handle_heartbeat(&mut self, from: NodeId, req: HeartbeatRequest) -> Result<()> {
        let last = self.log.last_index()?;
        self.log.commit_to(req.commit.min(last))?;
        let body = HeartbeatResponse {
            read_round: req.read_round,
            lost_tail: (req.commit > last).then_some(last),
        };
        self.send(from, MessageBody::HeartbeatResponse(body));
        Ok(())
    }

    /// Leader: the peer is alive. Resume it if it is behind, and count its read ack.
    pub(crate) fn handle_heartbeat_response(
        &mut self,
        from: NodeId,
        resp: HeartbeatResponse,
    ) -> Result<()> {
        let last = self.log.last_index()?;
        let committed = self.log.committed;
        if let Some(end) = resp.lost_tail
            && let Some(pr) = self.tracker.progress.get_mut(&from)
            && pr.lost_tail(end)
        {
            self.maybe_send_append(from, true)?;
        }
        if let Some(pr) = self.tracker.progress.get_mut(&from) {
            pr.probe_sent = false;
            let (state, matched, next, full) = (pr.state, pr.matched, pr.next, pr.inflights.full());
            match state {
                ProgressState::Snapshot => {
                    self.send_snapshot_chunk(from)?;
                }
                ProgressState::Replicate if matched < last && full => {
                    // The window is full and may be stalled (Appends or acks lost): an
                    // empty Append at `next - 1` is either acked (freeing the window) or
                    // rejected (falling back to probing from the match).
                    let prev = next.prev();
                    match self.log.term_opt(prev)? {
                        Some(prev_term) => {
                            let req = AppendRequest {
                                prev_log_index: prev,
                                prev_log_term: prev_term,
                                entries: Vec::new(),
                                commit: committed,
                            };
                            self.send(from, MessageBody::Append(req));
                        }
                        None => {
                            if let Some(pr) = self.tracker.progress.get_mut(&from) {
                                pr.become_probe();
                            }
                            self.maybe_send_append(from, true)?;
                        }
                    }
                }
                _ if matched < last => {
                    self.maybe_send_append(from, true)?;
                }
                _ => {}
            }
        }
        if resp.read_round != 0 {
            let tracker = &self.tracker;
            if self.cfg.lease_reads() {
                let election_tick = self.cfg.election_tick;
                self.lease
                    .ack(from, resp.read_round, election_tick, |acks| {
                        tracker.has_quorum(acks)
                    });
            }
            let done = self
                .read_only
                .ack(from, resp.read_round, |acks| tracker.has_quorum(acks));
            for r in done {
                self.respond_read(r.requester, r.index, r.context);
            }
        }
        Ok(())
    }
}
