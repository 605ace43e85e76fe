//! Leadership transfer: the leader stops accepting proposals, brings the target up to
//! date, then sends it `TimeoutNow` so it campaigns at once (ignoring leases). Abandoned
//! if not done within an election timeout.

use crate::error::{Error, Result};
use crate::message::MessageBody;
use crate::raft::Raft;
use crate::storage::LogStore;
use crate::types::{NodeId, Role};

impl<S: LogStore> Raft<S> {
    /// Leader: start transferring leadership to `to`.
    pub(crate) fn transfer_leader(&mut self, to: NodeId) -> Result<()> {
        if self.role != Role::Leader {
            return Err(Error::NotLeader {
                leader_hint: self.leader,
            });
        }
        if to == self.id {
            // Already leader: cancel any transfer in progress.
            self.lead_transferee = None;
            return Ok(());
        }
        if !self.tracker.is_voter(to) {
            return Err(Error::InvalidTransferTarget {
                target: to,
                reason: "not a voter",
            });
        }
        if self.lead_transferee == Some(to) {
            return Ok(());
        }
        self.lead_transferee = Some(to);
        // The transfer times out with the next election-timeout boundary.
        self.election_elapsed = 0;
        let last = self.log.last_index()?;
        let matched = self.tracker.progress.get(&to).map(|p| p.matched);
        if matched == Some(last) {
            self.send(to, MessageBody::TimeoutNow);
            // The target campaigns past the followers' lease rule.
            self.lease.disable();
        } else {
            self.maybe_send_append(to, true)?;
        }
        Ok(())
    }
}
