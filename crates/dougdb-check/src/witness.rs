//! Shrinking a non-linearizable key history to a minimal witness.
//!
//! A witness must convince a human, so it must stay *self-explaining*: every value one of
//! its operations observed (a read's value, a swapped cas's expected value, "the key held
//! something" for `delete` = existed) is written by an operation of the witness, unless no
//! operation of the whole key history writes it (a read of a value never written is its
//! own witness). Without that rule any read of a written value would be a one-operation
//! "witness", contradicted only because its write was dropped.
//!
//! The witness is *1-minimal* among self-explaining subsets: removing any one operation
//! either makes it linearizable or leaves an observation unexplained. Shrinking is
//! delta debugging: remove chunks (halves, quarters, ...) while the rest still fails, then
//! single operations until nothing more can go.

use std::collections::HashSet;

use crate::model::{Entry, Observation, State};
use crate::search::{KeyResult, search};

/// A witness and what shrinking it cost.
#[derive(Debug)]
pub(crate) struct Shrunk {
    /// The remaining entries (still not linearizable).
    pub(crate) entries: Vec<Entry>,
    /// Search steps spent shrinking.
    pub(crate) steps: u64,
    /// Whether shrinking finished (false: a budget ran out, the witness may not be minimal).
    pub(crate) minimal: bool,
}

/// What the whole key history writes, to tell "unexplained" from "never written".
struct Writers {
    values: HashSet<State>,
    any: bool,
}

impl Writers {
    fn of(entries: &[Entry]) -> Writers {
        let values: HashSet<State> = entries.iter().filter_map(|e| e.act.writes()).collect();
        let any = !values.is_empty();
        Writers { values, any }
    }

    /// Every observation in `subset` that the full history can explain is explained
    /// within `subset`.
    fn explains(&self, subset: &[Entry]) -> bool {
        let here = Writers::of(subset);
        subset.iter().all(|e| match e.act.observes() {
            None => true,
            Some(Observation::Value(v)) => !self.values.contains(&v) || here.values.contains(&v),
            Some(Observation::AnyValue) => !self.any || here.any,
        })
    }
}

/// Shrinks `entries` (known not linearizable). Each check may use up to `per_check` steps
/// and all of them together `total` steps.
pub(crate) fn shrink(entries: &[Entry], per_check: u64, total: u64) -> Shrunk {
    let writers = Writers::of(entries);
    let mut cur = entries.to_vec();
    let mut steps = 0u64;
    let mut minimal = true;
    let fails = |candidate: &[Entry], steps: &mut u64, minimal: &mut bool| -> bool {
        if !writers.explains(candidate) {
            return false;
        }
        let budget = per_check.min(total.saturating_sub(*steps));
        let (result, used) = search(candidate, budget);
        *steps += used;
        if result == KeyResult::Unknown {
            *minimal = false;
        }
        result == KeyResult::Violation
    };
    let mut chunk = (cur.len() / 2).max(1);
    loop {
        let mut removed = false;
        let mut start = 0;
        while start < cur.len() {
            if steps >= total {
                return Shrunk {
                    entries: cur,
                    steps,
                    minimal: false,
                };
            }
            let end = (start + chunk).min(cur.len());
            let candidate: Vec<Entry> = cur[..start].iter().chain(&cur[end..]).copied().collect();
            if fails(&candidate, &mut steps, &mut minimal) {
                cur = candidate;
                removed = true;
            } else {
                start = end;
            }
        }
        if chunk > 1 {
            chunk /= 2;
        } else if !removed {
            break;
        }
    }
    Shrunk {
        entries: cur,
        steps,
        minimal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ABSENT, Act};

    fn e(act: Act, call: u64, ret: u64, index: usize) -> Entry {
        Entry {
            act,
            call,
            ret: Some(ret),
            index,
        }
    }

    #[test]
    fn a_stale_read_keeps_the_write_it_read() {
        // put 1; get 1 (noise); put 2; get 1 (stale): the witness is put 1, put 2, get 1.
        let h = [
            e(Act::Put { value: 1 }, 0, 1, 0),
            e(Act::Get { read: 1 }, 2, 3, 1),
            e(Act::Put { value: 2 }, 4, 5, 2),
            e(Act::Get { read: 1 }, 6, 7, 3),
        ];
        let s = shrink(&h, 1000, 100_000);
        assert!(s.minimal);
        let kept: Vec<usize> = s.entries.iter().map(|e| e.index).collect();
        assert_eq!(kept, vec![0, 2, 3]);
    }

    #[test]
    fn a_read_of_a_value_never_written_is_its_own_witness() {
        let h = [
            e(Act::Put { value: 1 }, 0, 1, 0),
            e(Act::Get { read: 1 }, 2, 3, 1),
            e(Act::Get { read: 7 }, 4, 5, 2),
            e(Act::Get { read: ABSENT }, 0, 9, 3),
        ];
        let s = shrink(&h, 1000, 100_000);
        let kept: Vec<usize> = s.entries.iter().map(|e| e.index).collect();
        assert_eq!(kept, vec![2]);
    }

    #[test]
    fn an_exhausted_budget_returns_a_valid_but_possibly_larger_witness() {
        let h = [
            e(Act::Put { value: 1 }, 0, 1, 0),
            e(Act::Put { value: 2 }, 4, 5, 1),
            e(Act::Get { read: 1 }, 6, 7, 2),
        ];
        let s = shrink(&h, 1000, 0);
        assert!(!s.minimal);
        assert_eq!(s.entries.len(), 3);
    }
}
