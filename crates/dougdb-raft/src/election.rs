//! Elections: pre-vote and vote campaigns, vote granting (one vote per term, the
//! up-to-date check, the leader lease handled in `step`), and vote counting.

use crate::error::Result;
use crate::message::{Message, MessageBody, VoteRequest, VoteResponse};
use crate::raft::Raft;
use crate::storage::LogStore;
use crate::tracker::VoteResult;
use crate::types::{NodeId, Role};

impl<S: LogStore> Raft<S> {
    /// Starts an election if this node may: with pre-vote first unless `transfer`.
    pub(crate) fn hup(&mut self, transfer: bool) -> Result<()> {
        if self.role == Role::Leader || !self.promotable() {
            return Ok(());
        }
        if self.cfg.pre_vote && !transfer {
            self.campaign(true, false)
        } else {
            self.campaign(false, transfer)
        }
    }

    /// One round of (pre-)voting. A pre-vote asks for `term + 1` without adopting it.
    pub(crate) fn campaign(&mut self, pre: bool, transfer: bool) -> Result<()> {
        if !self.promotable() {
            return Ok(());
        }
        let term = if pre {
            self.become_pre_candidate();
            self.term.next()
        } else {
            self.become_candidate()?;
            self.term
        };
        self.tracker.record_vote(self.id, true);
        if self.tracker.vote_result() == VoteResult::Won {
            // Single voter: no one to ask.
            return if pre {
                self.campaign(false, transfer)
            } else {
                self.become_leader()
            };
        }
        let req = VoteRequest {
            last_log_index: self.log.last_index()?,
            last_log_term: self.log.last_term()?,
            transfer,
        };
        let me = self.id;
        let voters: Vec<NodeId> = self
            .tracker
            .conf
            .voters
            .iter()
            .copied()
            .filter(|id| *id != me)
            .collect();
        for id in voters {
            let body = if pre {
                MessageBody::PreVote(req.clone())
            } else {
                MessageBody::Vote(req.clone())
            };
            self.send_with_term(id, term, body);
        }
        Ok(())
    }

    /// Grants or refuses a (pre-)vote. Terms were already reconciled by `step`.
    pub(crate) fn handle_vote_request(
        &mut self,
        m: &Message,
        req: &VoteRequest,
        pre: bool,
    ) -> Result<()> {
        let can_vote = self.vote == Some(m.from)
            || (self.vote.is_none() && self.leader.is_none())
            || (pre && m.term > self.term);
        let grant = can_vote
            && self
                .log
                .is_up_to_date(req.last_log_index, req.last_log_term)?;
        let (term, reject) = if grant {
            (m.term, false)
        } else {
            (self.term, true)
        };
        let body = VoteResponse { reject };
        let body = if pre {
            MessageBody::PreVoteResponse(body)
        } else {
            MessageBody::VoteResponse(body)
        };
        self.send_with_term(m.from, term, body);
        if grant && !pre {
            self.election_elapsed = 0;
            self.vote = Some(m.from);
        }
        Ok(())
    }

    /// Counts an answer to our (pre-)vote request.
    pub(crate) fn handle_vote_response(&mut self, from: NodeId, granted: bool) -> Result<()> {
        self.tracker.record_vote(from, granted);
        match self.tracker.vote_result() {
            VoteResult::Won if self.role == Role::PreCandidate => self.campaign(false, false),
            // `become_leader` appends the no-op and broadcasts it.
            VoteResult::Won => self.become_leader(),
            VoteResult::Lost => self.become_follower(self.term, None),
            VoteResult::Pending => Ok(()),
        }
    }

    /// Leader transfer target: campaign at once, skipping pre-vote and leases.
    pub(crate) fn handle_timeout_now(&mut self) -> Result<()> {
        if self.promotable() {
            self.hup(true)?;
        }
        Ok(())
    }
}
