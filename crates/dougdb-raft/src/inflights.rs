//! The window of Appends in flight to one follower in Replicate state, bounded both by
//! message count and by bytes, so one slow follower cannot make the leader buffer
//! unboundedly.

use std::collections::VecDeque;

use crate::types::LogIndex;

/// Appends sent but not yet acknowledged, oldest first: (last index of the message, bytes).
#[derive(Clone, Debug)]
pub struct Inflights {
    queue: VecDeque<(LogIndex, u64)>,
    bytes: u64,
    max_msgs: usize,
    max_bytes: u64,
}

impl Inflights {
    /// An empty window with the given limits.
    pub fn new(max_msgs: usize, max_bytes: u64) -> Inflights {
        Inflights {
            queue: VecDeque::new(),
            bytes: 0,
            max_msgs,
            max_bytes,
        }
    }

    /// Records an Append whose last entry is `last` and whose entries weigh `bytes`.
    pub fn add(&mut self, last: LogIndex, bytes: u64) {
        if let Some(&(prev, _)) = self.queue.back() {
            assert!(last >= prev, "inflights must be added in index order");
        }
        self.queue.push_back((last, bytes));
        self.bytes = self.bytes.saturating_add(bytes);
    }

    /// Frees every message whose last index is `<= index` (acknowledged).
    pub fn free_le(&mut self, index: LogIndex) {
        while let Some(&(last, bytes)) = self.queue.front() {
            if last > index {
                break;
            }
            self.bytes -= bytes;
            self.queue.pop_front();
        }
    }

    /// Whether no more Appends may be sent.
    pub fn full(&self) -> bool {
        self.queue.len() >= self.max_msgs || self.bytes >= self.max_bytes
    }

    /// Messages in flight.
    pub fn count(&self) -> usize {
        self.queue.len()
    }

    /// Bytes in flight.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Forgets everything (on leaving Replicate state).
    pub fn reset(&mut self) {
        self.queue.clear();
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_by_message_count_and_freed_by_ack() {
        let mut inf = Inflights::new(3, 1000);
        for i in 1..=3 {
            assert!(!inf.full());
            inf.add(LogIndex(i), 10);
        }
        assert!(inf.full());
        inf.free_le(LogIndex(1));
        assert!(!inf.full());
        assert_eq!(inf.count(), 2);
        assert_eq!(inf.bytes(), 20);
        inf.free_le(LogIndex(10));
        assert_eq!(inf.count(), 0);
        assert_eq!(inf.bytes(), 0);
    }

    #[test]
    fn full_by_bytes() {
        let mut inf = Inflights::new(100, 50);
        inf.add(LogIndex(1), 30);
        assert!(!inf.full());
        inf.add(LogIndex(2), 30);
        assert!(inf.full());
        inf.free_le(LogIndex(1));
        assert!(!inf.full());
    }
}
