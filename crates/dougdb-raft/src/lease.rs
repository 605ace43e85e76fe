//! The leader lease behind `ReadOnlyOption::LeaseBased` reads.
//!
//! A follower that processes a heartbeat from its leader refuses every (pre-)vote that does
//! not come from a leader transfer for `election_tick` ticks (the `in_lease` rule in
//! `step`). So when a quorum has answered a heartbeat this leader sent at tick `t`, no
//! other leader can be elected before tick `t + election_tick - 1` of the followers' clocks
//! (a follower's first tick may come just after the heartbeat). The lease runs to
//! `t + election_tick - LEASE_MARGIN_TICKS`: one tick for that rounding, one for clock rate
//! differences. It is measured from when the heartbeat was *sent*, never from when the
//! answer came, and only confirmed rounds extend it.
//!
//! What the lease needs from its caller: ticks that follow real time. A process that was
//! stopped (SIGSTOP, a VM pause, a long GC-like stall) must catch its ticks up before it
//! steps anything, or it would believe in a lease that ran out while it was stopped; the
//! DougDB replica loop does that.
//!
//! The lease is dropped on every role change and configuration change, and disabled for
//! the rest of the term once this leader has sent `TimeoutNow` (a transfer target
//! campaigns past the followers' `in_lease` rule). A node that has just started refuses
//! votes for its first `election_tick` ticks (it may have answered the old leader's
//! heartbeat just before a crash); see `Raft::in_lease`.

use std::collections::{BTreeSet, VecDeque};

use crate::types::NodeId;

/// Ticks by which the lease stays short of the followers' election timeout.
pub const LEASE_MARGIN_TICKS: u64 = 2;

/// A heartbeat round waiting for a quorum of answers.
#[derive(Clone, Debug)]
struct LeaseRound {
    round: u64,
    sent_tick: u64,
    acks: BTreeSet<NodeId>,
}

/// The leader's lease: unconfirmed heartbeat rounds and the tick it runs to.
#[derive(Clone, Debug, Default)]
pub struct Lease {
    rounds: VecDeque<LeaseRound>,
    /// The lease holds while the logical clock is below this tick.
    until: u64,
    /// Set once `TimeoutNow` went out in this term: no lease until the next role change.
    disabled: bool,
    /// Newest round started: a round sent again is not started again (an answer to it may
    /// answer the first send, so timing it from the second would overstate the lease).
    last_round: u64,
}

impl Lease {
    /// A heartbeat of `round` goes out at `now` (already acknowledged by `leader`). Rounds
    /// too old to extend the lease any more are dropped, which bounds the queue by
    /// `election_tick / heartbeat_tick` plus the read rounds of one election timeout.
    pub fn start_round(&mut self, round: u64, now: u64, leader: NodeId, election_tick: u32) {
        if self.disabled || round <= self.last_round {
            return;
        }
        self.last_round = round;
        let span = lease_span(election_tick);
        while self
            .rounds
            .front()
            .is_some_and(|r| r.sent_tick + span <= now)
        {
            self.rounds.pop_front();
        }
        let mut acks = BTreeSet::new();
        acks.insert(leader);
        self.rounds.push_back(LeaseRound {
            round,
            sent_tick: now,
            acks,
        });
    }

    /// `from` answered the heartbeat of `round`, so it also processed every earlier one.
    /// Extends the lease from the newest round a quorum has now answered.
    pub fn ack(
        &mut self,
        from: NodeId,
        round: u64,
        election_tick: u32,
        is_quorum: impl Fn(&BTreeSet<NodeId>) -> bool,
    ) {
        let mut confirmed = None;
        for (k, r) in self.rounds.iter_mut().enumerate() {
            if r.round > round {
                break;
            }
            r.acks.insert(from);
            if is_quorum(&r.acks) {
                confirmed = Some(k);
            }
        }
        if let Some(k) = confirmed {
            let sent = self.rounds[k].sent_tick;
            self.until = self.until.max(sent + lease_span(election_tick));
            self.rounds.drain(..=k);
        }
    }

    /// Whether the lease holds at logical tick `now`.
    pub fn holds(&self, now: u64) -> bool {
        !self.disabled && now < self.until
    }

    /// Ends the lease for the rest of this term (a `TimeoutNow` was sent).
    pub fn disable(&mut self) {
        self.disabled = true;
        self.until = 0;
        self.rounds.clear();
    }

    /// Forgets the lease and every pending round (the voters or the role changed).
    pub fn clear(&mut self) {
        *self = Lease::default();
    }

    /// Rounds waiting for answers.
    #[cfg(test)]
    pub fn pending(&self) -> usize {
        self.rounds.len()
    }
}

/// Ticks a confirmed heartbeat round keeps the lease for.
pub fn lease_span(election_tick: u32) -> u64 {
    u64::from(election_tick).saturating_sub(LEASE_MARGIN_TICKS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn majority(acks: &BTreeSet<NodeId>) -> bool {
        acks.len() >= 2
    }

    #[test]
    fn a_quorum_extends_the_lease_from_the_send_tick_not_the_answer() {
        let mut l = Lease::default();
        let me = NodeId(1);
        l.start_round(1, 100, me, 15);
        assert!(!l.holds(100), "no lease before any answer");
        l.ack(NodeId(2), 1, 15, majority);
        assert!(l.holds(100 + 12));
        assert!(!l.holds(100 + 13), "runs to sent + election_tick - margin");
        assert_eq!(l.pending(), 0);
    }

    #[test]
    fn an_answer_to_a_later_round_confirms_earlier_rounds() {
        let mut l = Lease::default();
        let me = NodeId(1);
        l.start_round(4, 10, me, 15);
        l.start_round(5, 13, me, 15);
        l.start_round(6, 16, me, 15);
        l.ack(NodeId(3), 5, 15, majority);
        assert!(l.holds(13 + 12) && !l.holds(13 + 13));
        assert_eq!(l.pending(), 1, "round 6 still waits");
        // An answer to an older round never shortens the lease.
        l.ack(NodeId(2), 4, 15, majority);
        assert!(l.holds(25));
    }

    #[test]
    fn a_single_answer_in_five_voters_is_not_a_quorum() {
        let mut l = Lease::default();
        l.start_round(1, 0, NodeId(1), 15);
        l.ack(NodeId(2), 1, 15, |a| a.len() >= 3);
        assert!(!l.holds(0));
        l.ack(NodeId(4), 1, 15, |a| a.len() >= 3);
        assert!(l.holds(0));
    }

    #[test]
    fn a_round_sent_again_keeps_its_first_send_tick() {
        let mut l = Lease::default();
        l.start_round(1, 10, NodeId(1), 15);
        l.start_round(1, 14, NodeId(1), 15);
        l.ack(NodeId(2), 1, 15, majority);
        assert!(l.holds(22) && !l.holds(23));
    }

    #[test]
    fn disabled_lease_never_holds_and_old_rounds_are_dropped() {
        let mut l = Lease::default();
        for t in 0..100 {
            l.start_round(t + 1, t * 3, NodeId(1), 15);
        }
        assert!(l.pending() <= 5, "bounded: {}", l.pending());
        l.ack(NodeId(2), 100, 15, majority);
        assert!(l.holds(99 * 3));
        l.disable();
        assert!(!l.holds(99 * 3));
        l.start_round(101, 300, NodeId(1), 15);
        l.ack(NodeId(2), 101, 15, majority);
        assert!(!l.holds(300), "stays off until the role changes");
        l.clear();
        l.start_round(102, 301, NodeId(1), 15);
        l.ack(NodeId(2), 102, 15, majority);
        assert!(l.holds(301));
    }
}
