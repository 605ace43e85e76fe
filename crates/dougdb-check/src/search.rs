//! The search for a linearization of one key's history: Wing and Gong's algorithm with
//! Lowe's memoisation, in the shape porcupine uses.
//!
//! The history is a doubly linked list of call and return events in real-time order. The
//! search walks it from the front: at a call it tries to linearize that operation now (the
//! model accepts its result from the current state); if so the operation's call and return
//! are unlinked ("lifted"), pushed on a stack with the state before it, and the walk starts
//! again from the front. Reaching a return means an operation that had to take effect by
//! then has not: the most recent choice is undone (popped, relinked) and the walk resumes
//! after that operation's call, trying the next candidate. An empty list is a
//! linearization; backtracking from an empty stack proves there is none.
//!
//! Lowe's memoisation: two search states with the same set of linearized operations and
//! the same model state have the same future, so each `(set, state)` pair is explored once.

use std::collections::HashSet;

use crate::model::{ABSENT, Entry, State};

/// The answer for one key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyResult {
    /// A linearization exists.
    Linearizable,
    /// None exists.
    Violation,
    /// The step budget ran out first.
    Unknown,
}

const NIL: usize = usize::MAX;

/// The event list: node `2i` is entry `i`'s call, `2i + 1` its return, node `2n` the head.
struct EventList {
    prev: Vec<usize>,
    next: Vec<usize>,
    head: usize,
}

impl EventList {
    fn new(entries: &[Entry]) -> EventList {
        let n = entries.len();
        // (time, returns after calls at equal times, node): equal times are concurrent.
        let mut order: Vec<(u64, u8, usize)> = Vec::with_capacity(2 * n);
        for (i, e) in entries.iter().enumerate() {
            order.push((e.call, 0, 2 * i));
            order.push((e.ret.unwrap_or(u64::MAX), 1, 2 * i + 1));
        }
        order.sort_unstable();
        let head = 2 * n;
        let mut prev = vec![NIL; 2 * n + 1];
        let mut next = vec![NIL; 2 * n + 1];
        let mut last = head;
        for &(_, _, node) in &order {
            next[last] = node;
            prev[node] = last;
            last = node;
        }
        EventList { prev, next, head }
    }

    fn first(&self) -> usize {
        self.next[self.head]
    }

    fn unlink(&mut self, node: usize) {
        let (p, n) = (self.prev[node], self.next[node]);
        self.next[p] = n;
        if n != NIL {
            self.prev[n] = p;
        }
    }

    fn relink(&mut self, node: usize) {
        let (p, n) = (self.prev[node], self.next[node]);
        self.next[p] = node;
        if n != NIL {
            self.prev[n] = node;
        }
    }

    /// Removes entry `i`'s call and return.
    fn lift(&mut self, i: usize) {
        self.unlink(2 * i);
        self.unlink(2 * i + 1);
    }

    /// Undoes `lift(i)`; lifts are undone in reverse order.
    fn unlift(&mut self, i: usize) {
        self.relink(2 * i + 1);
        self.relink(2 * i);
    }
}

/// Searches for a linearization of `entries` (one key, starting absent) in at most
/// `budget` steps (one step: one event visited). Returns the answer and the steps used.
pub(crate) fn search(entries: &[Entry], budget: u64) -> (KeyResult, u64) {
    let n = entries.len();
    let mut list = EventList::new(entries);
    let mut linearized = vec![0u64; n.div_ceil(64)].into_boxed_slice();
    let mut seen: HashSet<(Box<[u64]>, State)> = HashSet::new();
    let mut stack: Vec<(usize, State)> = Vec::new();
    let mut state = ABSENT;
    let mut node = list.first();
    let mut steps = 0u64;
    while list.first() != NIL {
        if steps >= budget {
            return (KeyResult::Unknown, steps);
        }
        steps += 1;
        let i = node / 2;
        let is_call = node.is_multiple_of(2);
        let lifted = is_call
            && entries[i].act.step(state).is_some_and(|next| {
                let (word, bit) = (i / 64, 1u64 << (i % 64));
                linearized[word] |= bit;
                if seen.insert((linearized.clone(), next)) {
                    stack.push((i, state));
                    state = next;
                    list.lift(i);
                    true
                } else {
                    linearized[word] &= !bit;
                    false
                }
            });
        if lifted {
            node = list.first();
        } else if is_call {
            node = list.next[node];
        } else {
            // A return whose operation is not linearized yet: undo the latest choice.
            let Some((j, before)) = stack.pop() else {
                return (KeyResult::Violation, steps);
            };
            state = before;
            linearized[j / 64] &= !(1u64 << (j % 64));
            list.unlift(j);
            node = list.next[2 * j];
        }
    }
    (KeyResult::Linearizable, steps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Act;

    fn e(act: Act, call: u64, ret: Option<u64>) -> Entry {
        Entry {
            act,
            call,
            ret,
            index: 0,
        }
    }

    #[test]
    fn concurrent_write_may_be_seen_by_an_overlapping_read_only() {
        let w = e(Act::Put { value: 1 }, 0, Some(10));
        let overlapping = e(Act::Get { read: 1 }, 5, Some(6));
        let before = e(Act::Get { read: 1 }, 1, Some(2));
        assert_eq!(search(&[w, overlapping], 100).0, KeyResult::Linearizable);
        // Reads ending at the write's invocation time still overlap it (equal = concurrent).
        let touching = e(Act::Get { read: 1 }, 0, Some(0));
        assert_eq!(search(&[w, touching], 100).0, KeyResult::Linearizable);
        let w_late = e(Act::Put { value: 1 }, 3, Some(10));
        assert_eq!(search(&[w_late, before], 100).0, KeyResult::Violation);
    }

    #[test]
    fn info_writes_may_happen_late_or_never() {
        let w = e(Act::Put { value: 1 }, 0, None);
        let absent = e(Act::Get { read: ABSENT }, 100, Some(101));
        let seen = e(Act::Get { read: 1 }, 200, Some(201));
        assert_eq!(search(&[w, absent, seen], 100).0, KeyResult::Linearizable);
        assert_eq!(search(&[w, absent], 100).0, KeyResult::Linearizable);
    }

    #[test]
    fn budget_is_respected() {
        let w = e(Act::Put { value: 1 }, 0, Some(1));
        let r = e(Act::Get { read: 1 }, 2, Some(3));
        assert_eq!(search(&[w, r], 1), (KeyResult::Unknown, 1));
        let (result, steps) = search(&[w, r], 100);
        assert_eq!(result, KeyResult::Linearizable);
        assert!(steps <= 4, "{steps}");
        assert_eq!(search(&[], 0), (KeyResult::Linearizable, 0));
    }
}
