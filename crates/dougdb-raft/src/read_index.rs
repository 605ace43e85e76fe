//! Linearizable reads without writing to the log: ReadIndex (the leader records its commit
//! index and confirms it is still leader with a heartbeat quorum), the lease-based variant,
//! and forwarding of follower requests to the leader.

use crate::error::{DropReason, Error, Result};
use crate::message::{MessageBody, ReadIndexRequest, ReadIndexResponse};
use crate::raft::Raft;
use crate::ready::ReadState;
use crate::storage::LogStore;
use crate::types::{LogIndex, NodeId, Role};

impl<S: LogStore> Raft<S> {
    /// A local read request: answered through a `ReadState` once confirmed.
    pub(crate) fn read_index(&mut self, context: Vec<u8>) -> Result<()> {
        if self.role == Role::Leader {
            return self.leader_read_index(self.id, context);
        }
        match self.leader {
            Some(leader) => {
                self.send(leader, MessageBody::ReadIndex(ReadIndexRequest { context }));
                Ok(())
            }
            None => Err(Error::NotLeader { leader_hint: None }),
        }
    }

    /// Leader: registers a read from `requester` (itself or a follower).
    pub(crate) fn leader_read_index(&mut self, requester: NodeId, context: Vec<u8>) -> Result<()> {
        let voters = &self.tracker.conf.voters;
        if voters.len() == 1 && voters.contains(&self.id) {
            self.respond_read(requester, self.log.committed, context);
            return Ok(());
        }
        // Before the no-op of this term commits, our commit index may lag the true one.
        if !self.committed_in_current_term()? {
            if self.pending_reads.len() >= self.cfg.max_pending_read_index {
                return Err(Error::ProposalDropped {
                    reason: DropReason::QueueFull,
                });
            }
            self.pending_reads.push_back((requester, context));
            return Ok(());
        }
        // A lease read answers at once while the lease holds (no transfer under way);
        // otherwise it takes a heartbeat round, whose answers also renew the lease.
        let lease = self.cfg.lease_reads()
            && self.lead_transferee.is_none()
            && self.lease.holds(self.ticks);
        if lease {
            self.respond_read(requester, self.log.committed, context);
        } else {
            if self.read_only.len() >= self.cfg.max_pending_read_index {
                return Err(Error::ProposalDropped {
                    reason: DropReason::QueueFull,
                });
            }
            let round = self
                .read_only
                .add(self.log.committed, requester, context, self.id);
            self.bcast_heartbeat_with_round(round);
        }
        Ok(())
    }

    /// Delivers a confirmed read: locally as a `ReadState`, or back to the follower.
    pub(crate) fn respond_read(&mut self, requester: NodeId, index: LogIndex, context: Vec<u8>) {
        if requester == self.id {
            self.read_states.push(ReadState { index, context });
        } else {
            let body = ReadIndexResponse { context, index };
            self.send(requester, MessageBody::ReadIndexResponse(body));
        }
    }
}
