//! The leader's queue of ReadIndex requests waiting for a heartbeat quorum. Each request
//! gets a round number; a heartbeat carries the latest round and an acknowledgement of
//! round `r` confirms leadership for every request of round `<= r` (it was answered after
//! they were registered).

use std::collections::{BTreeSet, VecDeque};

use crate::types::{LogIndex, NodeId};

/// A ReadIndex request the leader has registered.
#[derive(Clone, Debug)]
pub struct PendingRead {
    /// Heartbeat round that will confirm it.
    pub round: u64,
    /// Commit index when the request arrived: the read waits until applied >= index.
    pub index: LogIndex,
    /// Who asked (this node or a follower that forwarded it).
    pub requester: NodeId,
    /// The caller's opaque request id.
    pub context: Vec<u8>,
    /// Voters (and the leader) that acknowledged a round `>= round`.
    pub acks: BTreeSet<NodeId>,
}

/// Requests waiting for confirmation, oldest first.
#[derive(Clone, Debug, Default)]
pub struct ReadOnly {
    queue: VecDeque<PendingRead>,
    last_round: u64,
}

impl ReadOnly {
    /// Registers a request and returns its round (already acknowledged by `leader`).
    pub fn add(
        &mut self,
        index: LogIndex,
        requester: NodeId,
        context: Vec<u8>,
        leader: NodeId,
    ) -> u64 {
        self.last_round += 1;
        let mut acks = BTreeSet::new();
        acks.insert(leader);
        self.queue.push_back(PendingRead {
            round: self.last_round,
            index,
            requester,
            context,
            acks,
        });
        self.last_round
    }

    /// A fresh round with no request (a lease-renewing heartbeat carries it).
    pub fn next_round(&mut self) -> u64 {
        self.last_round += 1;
        self.last_round
    }

    /// Round of the newest pending request, 0 when none (plain heartbeats carry it so a
    /// lost confirmation heartbeat is retried).
    pub fn latest_round(&self) -> u64 {
        self.queue.back().map_or(0, |r| r.round)
    }

    /// `from` acknowledged `round`; returns the requests now confirmed by `is_quorum`,
    /// oldest first, removing them from the queue.
    pub fn ack(
        &mut self,
        from: NodeId,
        round: u64,
        is_quorum: impl Fn(&BTreeSet<NodeId>) -> bool,
    ) -> Vec<PendingRead> {
        if round == 0 {
            return Vec::new();
        }
        let mut confirmed_upto = None;
        for (k, r) in self.queue.iter_mut().enumerate() {
            if r.round > round {
                break;
            }
            r.acks.insert(from);
            if is_quorum(&r.acks) {
                confirmed_upto = Some(k);
            }
        }
        match confirmed_upto {
            Some(k) => self.queue.drain(..=k).collect(),
            None => Vec::new(),
        }
    }

    /// Drops everything (on losing leadership: callers retry elsewhere).
    pub fn clear(&mut self) {
        self.queue.clear();
    }

    /// Requests waiting.
    pub fn len(&self) -> usize {
        self.queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ack_of_a_later_round_confirms_earlier_requests() {
        let mut ro = ReadOnly::default();
        let me = NodeId(1);
        let r1 = ro.add(LogIndex(5), me, b"a".to_vec(), me);
        let r2 = ro.add(LogIndex(6), NodeId(2), b"b".to_vec(), me);
        assert_eq!((r1, r2), (1, 2));
        let quorum = |acks: &BTreeSet<NodeId>| acks.len() >= 2;
        assert!(ro.ack(NodeId(3), 0, quorum).is_empty());
        let done = ro.ack(NodeId(3), 2, quorum);
        assert_eq!(done.len(), 2);
        assert_eq!(done[0].context, b"a".to_vec());
        assert_eq!(done[1].index, LogIndex(6));
        assert_eq!(ro.len(), 0);
    }
}
