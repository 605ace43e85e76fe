//! `dougdb-check`: is a key-value history linearizable?
//!
//! # The input
//!
//! A history is a list of [`Operation`]s, one per client call, each on one key: `get`
//! (returns the value or absent), `put`, `delete` (returns whether the key existed) and
//! `cas` (compare-and-set: `expected` `None` means "the key must be absent"; returns
//! whether it swapped). Every call has an invocation time and ends, Jepsen style, as
//! - **ok**: it took effect exactly once, at some instant between its invocation and its
//!   completion, and returned the recorded output;
//! - **fail**: it certainly had no effect; it is dropped;
//! - **info**: unknown (a timeout, a lost connection): it took effect once at some
//!   instant after its invocation, or never. Its output is unknown, so an `info` read
//!   constrains nothing and is dropped; an `info` write may explain later reads.
//!
//! Call `a` precedes call `b` in real time iff `a` completed strictly before `b` was
//! invoked; equal times count as concurrent (the permissive reading of a coarse clock).
//!
//! # The model
//!
//! Every key is an independent register that starts absent: `put` sets it, `delete` makes
//! it absent (`existed` = it held a value), `cas(expected, new)` sets it to `new` iff it
//! holds `expected` (`swapped` says whether), `get` returns it. Values are compared for
//! equality only; they need not be unique, but unique written values make the search
//! faster and the witnesses clearer.
//!
//! The history is linearizable iff there is a total order of the ok calls and some of
//! the info writes that respects real-time precedence and in which every call's recorded
//! output is what the model returns.
//!
//! # The algorithm
//!
//! Linearizability is compositional (Herlihy and Wing), so each key is checked alone.
//! Each key's history is searched with Wing and Gong's algorithm with Lowe's memoisation,
//! as porcupine does it (see the `search` module): a doubly linked list of call and return
//! events, a stack of tentatively linearized calls, and a cache of (set of linearized calls
//! as a bitset, model state) pairs already explored. Values are interned as small integers
//! per key so model states are cheap to copy and hash.
//!
//! Linearizability checking is NP-complete, so each key's search has a step budget (one
//! step: one event visited); when it runs out the answer is [`Verdict::Unknown`], never a
//! hang. Keys are checked in key order; a violation on any key wins over an unknown one.
//!
//! # The witness
//!
//! On a violation the key's history is shrunk (delta debugging, see the `witness` module)
//! to a subset of its operations that is still not linearizable and is *1-minimal among
//! self-explaining subsets*: every value an operation of the witness observed is written
//! by an operation of the witness (unless nothing in the key's history writes it), and
//! removing any one operation either makes it linearizable or breaks that rule. The
//! witness is given as indices into the input.

mod error;
mod model;
mod op;
mod search;
mod witness;

use std::collections::BTreeMap;
use std::hash::Hash;

pub use error::CheckError;
pub use op::{Command, Operation, Outcome, Output};

use search::KeyResult;

/// A default per-key step budget: a few seconds of search at most.
pub const DEFAULT_STEP_BUDGET: u64 = 1_000_000;

/// Shrinking a witness may spend this many times the per-key budget in all.
const SHRINK_BUDGET_FACTOR: u64 = 4;

/// The answer on a history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict<K> {
    /// Every key's history has a linearization.
    Linearizable,
    /// `key`'s history has none.
    Violation {
        /// The key.
        key: K,
        /// Indices into the input of a non-linearizable subset of the key's operations,
        /// ascending (see the crate docs for what minimal means).
        witness: Vec<usize>,
        /// False if shrinking ran out of budget: the witness is still not linearizable
        /// but may not be minimal.
        minimal: bool,
    },
    /// No key is known to be violated, but `key`'s search ran out of budget.
    Unknown {
        /// The first key (in key order) whose search ran out of budget.
        key: K,
    },
}

/// A verdict and the work it took.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report<K> {
    /// The answer.
    pub verdict: Verdict<K>,
    /// Search steps used in total, shrinking included.
    pub steps: u64,
}

/// Checks whether `ops` is linearizable, searching each key for at most `step_budget`
/// steps. Fails only on a malformed history (see [`CheckError`]).
pub fn check<K: Ord + Clone, V: Eq + Hash>(
    ops: &[Operation<K, V>],
    step_budget: u64,
) -> Result<Report<K>, CheckError> {
    let mut by_key: BTreeMap<&K, Vec<usize>> = BTreeMap::new();
    for (i, op) in ops.iter().enumerate() {
        by_key.entry(&op.key).or_default().push(i);
    }
    let mut steps = 0u64;
    let mut unknown: Option<&K> = None;
    for (key, indices) in by_key {
        let entries = model::entries(ops, &indices)?;
        let (result, used) = search::search(&entries, step_budget);
        steps += used;
        match result {
            KeyResult::Linearizable => {}
            KeyResult::Unknown => {
                unknown.get_or_insert(key);
            }
            KeyResult::Violation => {
                let total = step_budget.saturating_mul(SHRINK_BUDGET_FACTOR);
                let shrunk = witness::shrink(&entries, step_budget, total);
                let mut witness: Vec<usize> = shrunk.entries.iter().map(|e| e.index).collect();
                witness.sort_unstable();
                return Ok(Report {
                    verdict: Verdict::Violation {
                        key: key.clone(),
                        witness,
                        minimal: shrunk.minimal,
                    },
                    steps: steps + shrunk.steps,
                });
            }
        }
    }
    let verdict = match unknown {
        Some(key) => Verdict::Unknown { key: key.clone() },
        None => Verdict::Linearizable,
    };
    Ok(Report { verdict, steps })
}
