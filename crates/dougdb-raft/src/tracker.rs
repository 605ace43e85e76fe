//! The leader's per-peer `Progress` map and the quorum arithmetic over the current
//! configuration: committed index, vote tallies, check-quorum activity.

use std::collections::BTreeMap;

use crate::progress::Progress;
use crate::types::{ConfState, LogIndex, NodeId};

/// Outcome of an election so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VoteResult {
    /// A majority granted.
    Won,
    /// A majority refused: this campaign cannot succeed.
    Lost,
    /// Neither yet.
    Pending,
}

/// Progress of every member plus the votes of the current campaign.
#[derive(Clone, Debug, Default)]
pub struct ProgressTracker {
    /// Membership the quorums are computed over (the latest in the log: append-time rule).
    pub conf: ConfState,
    /// One entry per voter and learner (meaningful on the leader only).
    pub progress: BTreeMap<NodeId, Progress>,
    /// Votes received in the current (pre-)campaign.
    pub votes: BTreeMap<NodeId, bool>,
}

impl ProgressTracker {
    /// Size of a majority of the voters.
    pub fn quorum(&self) -> usize {
        self.conf.voters.len() / 2 + 1
    }

    /// Whether `id` is a voter.
    pub fn is_voter(&self, id: NodeId) -> bool {
        self.conf.voters.contains(&id)
    }

    /// The highest index replicated on a majority of voters (0 with no voters).
    pub fn committed_index(&self) -> LogIndex {
        let mut matched: Vec<LogIndex> = self
            .conf
            .voters
            .iter()
            .map(|id| self.progress.get(id).map_or(LogIndex(0), |p| p.matched))
            .collect();
        if matched.is_empty() {
            return LogIndex(0);
        }
        matched.sort_unstable_by(|a, b| b.cmp(a));
        matched[self.quorum() - 1]
    }

    /// Records a vote (first answer per voter wins; non-voters are ignored).
    pub fn record_vote(&mut self, id: NodeId, granted: bool) {
        if self.is_voter(id) {
            self.votes.entry(id).or_insert(granted);
        }
    }

    /// Tally of the recorded votes.
    pub fn vote_result(&self) -> VoteResult {
        let granted = self.votes.values().filter(|g| **g).count();
        let rejected = self.votes.values().filter(|g| !**g).count();
        let q = self.quorum();
        if self.conf.voters.is_empty() {
            return VoteResult::Lost;
        }
        if granted >= q {
            VoteResult::Won
        } else if self.conf.voters.len() - rejected < q {
            VoteResult::Lost
        } else {
            VoteResult::Pending
        }
    }

    /// Whether a majority of voters (counting `self_id` as active) was heard from.
    pub fn quorum_active(&self, self_id: NodeId) -> bool {
        let active = self
            .conf
            .voters
            .iter()
            .filter(|id| **id == self_id || self.progress.get(id).is_some_and(|p| p.recent_active))
            .count();
        active >= self.quorum()
    }

    /// Whether `acks` (a set of node ids) holds a majority of voters.
    pub fn has_quorum<'a>(&self, acks: impl IntoIterator<Item = &'a NodeId>) -> bool {
        acks.into_iter().filter(|id| self.is_voter(**id)).count() >= self.quorum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracker(voters: &[u64], matched: &[u64]) -> ProgressTracker {
        let mut t = ProgressTracker {
            conf: ConfState::with_voters(voters.iter().copied()),
            ..Default::default()
        };
        for (id, m) in voters.iter().zip(matched) {
            let mut p = Progress::new(LogIndex(m + 1), 8, 1 << 20);
            p.matched = LogIndex(*m);
            t.progress.insert(NodeId(*id), p);
        }
        t
    }

    #[test]
    fn committed_index_is_the_majority_match() {
        assert_eq!(
            tracker(&[1, 2, 3], &[5, 3, 1]).committed_index(),
            LogIndex(3)
        );
        assert_eq!(
            tracker(&[1, 2, 3, 4], &[5, 3, 2, 1]).committed_index(),
            LogIndex(2)
        );
        assert_eq!(tracker(&[1], &[7]).committed_index(), LogIndex(7));
    }

    #[test]
    fn vote_tally() {
        let mut t = tracker(&[1, 2, 3, 4, 5], &[0; 5]);
        t.record_vote(NodeId(1), true);
        t.record_vote(NodeId(2), true);
        assert_eq!(t.vote_result(), VoteResult::Pending);
        t.record_vote(NodeId(9), true); // not a voter
        assert_eq!(t.vote_result(), VoteResult::Pending);
        t.record_vote(NodeId(3), true);
        assert_eq!(t.vote_result(), VoteResult::Won);
        let mut l = tracker(&[1, 2, 3], &[0; 3]);
        l.record_vote(NodeId(2), false);
        l.record_vote(NodeId(3), false);
        assert_eq!(l.vote_result(), VoteResult::Lost);
    }
}
