//! Shrinking a non-linearizable key history to a 1-minimal witness: drop operations one at
//! a time while the rest still fails the check. A write whose value a remaining operation
//! observes is never dropped, so the witness never "fails" merely because the write that
//! explains a read was removed.

use std::collections::HashSet;

use crate::history::{OpRecord, Outcome};
use crate::kv::{KvOp, KvOutput, Value};

/// Passes over the operations before giving up on further shrinking.
const MAX_PASSES: usize = 4;

fn observed_values(ops: &[OpRecord]) -> HashSet<Value> {
    let mut seen = HashSet::new();
    for r in ops {
        if let Outcome::Ok(KvOutput::Get(v)) = r.outcome {
            seen.insert(v);
        }
        if let KvOp::Cas { expected, .. } = r.op {
            seen.insert(expected);
        }
    }
    seen
}

fn written_value(op: &KvOp) -> Option<Value> {
    match *op {
        KvOp::Put { value, .. } => Some(value),
        KvOp::Cas { new, .. } => Some(new),
        KvOp::Get { .. } => None,
    }
}

/// Greedily removes operations from `ops` while `still_fails` holds for the remainder.
/// `still_fails(ops)` must be true on entry; the result is a subset on which it holds.
pub fn minimise(ops: &[OpRecord], still_fails: impl Fn(&[OpRecord]) -> bool) -> Vec<OpRecord> {
    // Only operations that can constrain the search are worth keeping.
    let mut cur: Vec<OpRecord> = ops
        .iter()
        .filter(|r| {
            let unanswered_read = matches!(r.op, KvOp::Get { .. })
                && matches!(r.outcome, Outcome::Info | Outcome::Pending);
            r.outcome != Outcome::Fail && !unanswered_read
        })
        .copied()
        .collect();
    if !still_fails(&cur) {
        return ops.to_vec();
    }
    for _ in 0..MAX_PASSES {
        let mut changed = false;
        let mut i = 0;
        while i < cur.len() {
            let mut candidate = cur.clone();
            let removed = candidate.remove(i);
            let needed = written_value(&removed.op)
                .is_some_and(|v| observed_values(&candidate).contains(&v));
            if !needed && still_fails(&candidate) {
                cur = candidate;
                changed = true;
            } else {
                i += 1;
            }
        }
        if !changed {
            break;
        }
    }
    cur
}
