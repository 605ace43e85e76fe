//! What the leader knows about one follower's log: match/next indexes and the flow-control
//! state (Probe, Replicate, Snapshot), as in etcd-io/raft's `tracker.Progress`.

use crate::inflights::Inflights;
use crate::types::LogIndex;

/// Flow-control state of one follower.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressState {
    /// Match unknown: one Append at a time until the follower accepts one.
    Probe,
    /// Match known: pipelined Appends within the inflight window.
    Replicate,
    /// The entries it needs are compacted: streaming a snapshot, Appends paused.
    Snapshot,
}

/// Leader-side view of one peer.
#[derive(Clone, Debug)]
pub struct Progress {
    /// Highest index known to be replicated on the peer.
    pub matched: LogIndex,
    /// Next index to send.
    pub next: LogIndex,
    /// Flow-control state.
    pub state: ProgressState,
    /// In Probe: an Append is outstanding; wait for its answer or a heartbeat response.
    pub probe_sent: bool,
    /// In Snapshot: index of the snapshot being streamed.
    pub pending_snapshot: LogIndex,
    /// In Snapshot: offset of the chunk last sent (resent on heartbeat responses).
    pub snapshot_offset: u64,
    /// In Snapshot: offset just past the chunk last sent (the ack that moves us on).
    pub snapshot_sent_end: u64,
    /// Heard from since the last check-quorum round.
    pub recent_active: bool,
    /// Appends in flight (Replicate state).
    pub inflights: Inflights,
    /// Learners replicate but are not counted.
    pub is_learner: bool,
}

impl Progress {
    /// A fresh progress probing from `next`.
    pub fn new(next: LogIndex, max_inflight_msgs: usize, max_inflight_bytes: u64) -> Progress {
        Progress {
            matched: LogIndex(0),
            next,
            state: ProgressState::Probe,
            probe_sent: false,
            pending_snapshot: LogIndex(0),
            snapshot_offset: 0,
            snapshot_sent_end: 0,
            recent_active: false,
            inflights: Inflights::new(max_inflight_msgs, max_inflight_bytes),
            is_learner: false,
        }
    }

    fn reset_state(&mut self, state: ProgressState) {
        self.probe_sent = false;
        self.pending_snapshot = LogIndex(0);
        self.snapshot_offset = 0;
        self.snapshot_sent_end = 0;
        self.state = state;
        self.inflights.reset();
    }

    /// Back to probing (after a rejection, or once a snapshot is installed).
    pub fn become_probe(&mut self) {
        if self.state == ProgressState::Snapshot {
            let pending = self.pending_snapshot;
            self.reset_state(ProgressState::Probe);
            self.next = self.matched.max(pending).next();
        } else {
            self.reset_state(ProgressState::Probe);
            self.next = self.matched.next();
        }
    }

    /// Optimistic pipelining from `matched + 1`.
    pub fn become_replicate(&mut self) {
        self.reset_state(ProgressState::Replicate);
        self.next = self.matched.next();
    }

    /// Start streaming snapshot `index`.
    pub fn become_snapshot(&mut self, index: LogIndex) {
        self.reset_state(ProgressState::Snapshot);
        self.pending_snapshot = index;
    }

    /// Whether Appends to this peer must wait.
    pub fn is_paused(&self) -> bool {
        match self.state {
            ProgressState::Probe => self.probe_sent,
            ProgressState::Replicate => self.inflights.full(),
            ProgressState::Snapshot => true,
        }
    }

    /// Records an Append carrying `count` entries ending at `last` weighing `bytes`.
    pub fn sent_entries(&mut self, count: usize, last: LogIndex, bytes: u64) {
        match self.state {
            ProgressState::Replicate => {
                if count > 0 {
                    self.next = last.next();
                    self.inflights.add(last, bytes);
                }
            }
            ProgressState::Probe => {
                // Even an empty probe waits for its answer: it is how we learn the match.
                self.probe_sent = true;
            }
            ProgressState::Snapshot => {}
        }
    }

    /// A success ack for `index`; returns false if it was stale (nothing learned).
    pub fn maybe_update(&mut self, index: LogIndex) -> bool {
        let mut updated = false;
        if self.matched < index {
            self.matched = index;
            updated = true;
            self.probe_sent = false;
        }
        self.next = self.next.max(index.next());
        updated
    }

    /// The follower says its log ends at `end`, below what it acknowledged (it lost
    /// entries): believe it, and probe from there. Returns false if `end` is not below
    /// the match (nothing to do). Lowering the match never lowers the commit index.
    pub fn lost_tail(&mut self, end: LogIndex) -> bool {
        if end >= self.matched || self.state == ProgressState::Snapshot {
            return false;
        }
        self.matched = end;
        self.become_probe();
        true
    }

    /// A rejection of `rejected` (the Append's prev index); `hint` is the highest index
    /// that may match. Returns false if the rejection was stale.
    pub fn maybe_decr_to(&mut self, rejected: LogIndex, hint: LogIndex) -> bool {
        if self.state == ProgressState::Replicate {
            if rejected <= self.matched {
                return false;
            }
            self.next = self.matched.next();
            return true;
        }
        if self.next.prev() != rejected {
            return false;
        }
        self.next = rejected
            .min(hint.next())
            .max(self.matched.next())
            .max(LogIndex(1));
        self.probe_sent = false;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_pauses_after_one_append_and_decr_uses_hint() {
        let mut p = Progress::new(LogIndex(11), 4, 1 << 20);
        assert!(!p.is_paused());
        p.sent_entries(3, LogIndex(13), 30);
        assert!(p.is_paused());
        // Stale rejection (not of next - 1) is ignored.
        assert!(!p.maybe_decr_to(LogIndex(5), LogIndex(2)));
        assert!(p.maybe_decr_to(LogIndex(10), LogIndex(4)));
        assert_eq!(p.next, LogIndex(5));
        assert!(!p.is_paused());
    }

    #[test]
    fn replicate_is_optimistic_and_rejection_falls_back_to_match() {
        let mut p = Progress::new(LogIndex(1), 2, 1 << 20);
        assert!(p.maybe_update(LogIndex(5)));
        p.become_replicate();
        p.sent_entries(2, LogIndex(7), 20);
        p.sent_entries(1, LogIndex(8), 10);
        assert_eq!(p.next, LogIndex(9));
        assert!(p.is_paused(), "window of 2 is full");
        assert!(
            !p.maybe_decr_to(LogIndex(4), LogIndex(4)),
            "stale: below match"
        );
        assert!(p.maybe_decr_to(LogIndex(7), LogIndex(6)));
        assert_eq!(p.next, LogIndex(6));
    }
}
