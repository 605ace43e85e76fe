//! Virtual time: the `Clock` every part of a run reads, and `EventQueue`, a min-heap of
//! events ordered by due time then insertion order (so equal due times stay FIFO and a run
//! is deterministic). Nothing here sleeps or reads the wall clock.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A point in virtual time, in Raft ticks (one tick is 10 ms of DougDB time).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tick(pub u64);

impl Tick {
    /// `self + n` ticks.
    pub fn plus(self, n: u64) -> Tick {
        Tick(self.0.saturating_add(n))
    }
}

/// The simulation clock. Only `advance` moves it, once per simulation step.
#[derive(Clone, Copy, Debug, Default)]
pub struct Clock {
    now: Tick,
}

impl Clock {
    /// Current virtual time.
    pub fn now(&self) -> Tick {
        self.now
    }

    /// Moves time forward by one tick.
    pub fn advance(&mut self) {
        self.now = self.now.plus(1);
    }
}

struct Slot<T> {
    due: Tick,
    seq: u64,
    item: T,
}

impl<T> PartialEq for Slot<T> {
    fn eq(&self, other: &Self) -> bool {
        self.due == other.due && self.seq == other.seq
    }
}
impl<T> Eq for Slot<T> {}
impl<T> PartialOrd for Slot<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Slot<T> {
    // Reversed: `BinaryHeap` is a max-heap and we want the earliest event on top.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.due, other.seq).cmp(&(self.due, self.seq))
    }
}

/// Events due at virtual times; `pop_due` hands them out in (due, insertion) order.
pub struct EventQueue<T> {
    heap: BinaryHeap<Slot<T>>,
    next_seq: u64,
}

impl<T> std::fmt::Debug for EventQueue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventQueue")
            .field("len", &self.heap.len())
            .finish()
    }
}

impl<T> Default for EventQueue<T> {
    fn default() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            next_seq: 0,
        }
    }
}

impl<T> EventQueue<T> {
    /// Schedules `item` at `due`.
    pub fn push(&mut self, due: Tick, item: T) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Slot { due, seq, item });
    }

    /// The earliest event due at or before `now`, if any.
    pub fn pop_due(&mut self, now: Tick) -> Option<T> {
        if self.heap.peek().is_some_and(|s| s.due <= now) {
            self.heap.pop().map(|s| s.item)
        } else {
            None
        }
    }

    /// Events still queued.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Drops every queued event for which `keep` is false.
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        self.heap.retain(|s| keep(&s.item));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_come_out_by_due_time_then_fifo() {
        let mut q = EventQueue::default();
        q.push(Tick(3), "c");
        q.push(Tick(1), "a1");
        q.push(Tick(1), "a2");
        q.push(Tick(2), "b");
        assert_eq!(q.pop_due(Tick(0)), None);
        assert_eq!(q.pop_due(Tick(2)), Some("a1"));
        assert_eq!(q.pop_due(Tick(2)), Some("a2"));
        assert_eq!(q.pop_due(Tick(2)), Some("b"));
        assert_eq!(q.pop_due(Tick(2)), None);
        assert_eq!(q.len(), 1);
        q.retain(|_| false);
        assert!(q.is_empty());
        let mut clock = Clock::default();
        clock.advance();
        assert_eq!(clock.now(), Tick(1));
    }
}
