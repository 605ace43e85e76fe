//! Linearizability checker for KV histories: the history is split per key (operations on
//! different keys commute, so the whole history is linearizable iff every key's is), then
//! each key's history is searched with the Wing-Gong algorithm as improved by Lowe and used
//! by porcupine: a doubly linked list of call/return events, a stack of tentatively
//! linearized calls, and a cache of `(linearized set, model state)` pairs already explored.
//! A step budget makes the answer `Unknown` rather than an endless search.

use std::collections::{BTreeMap, HashSet};

use crate::history::{History, OpRecord, Outcome};
use crate::kv::{Key, KvOp, KvOutput, Value};
use crate::witness::minimise;

/// Default search budget per key (loop iterations).
pub const DEFAULT_STEP_BUDGET: u64 = 2_000_000;

/// A non-linearizable key and a small set of its operations that already is.
#[derive(Clone, Debug)]
pub struct Witness {
    /// The key whose history cannot be linearized.
    pub key: Key,
    /// A 1-minimal non-linearizable subset of its operations, in invocation order.
    pub ops: Vec<OpRecord>,
}

impl std::fmt::Display for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "key {:?} is not linearizable; minimal witness:",
            self.key
        )?;
        for op in &self.ops {
            writeln!(f, "  {op}")?;
        }
        Ok(())
    }
}

/// Verdict on a history.
#[derive(Clone, Debug)]
pub enum Verdict {
    /// Every key's history has a linearization.
    Linearizable,
    /// A key's history has none.
    Violation(Witness),
    /// The search budget ran out on this key before an answer.
    Unknown {
        /// The key being searched.
        key: Key,
    },
}

/// Checks a whole history (pending operations count as `Info`).
pub fn check_history(history: &History, step_budget: u64) -> Verdict {
    check_ops(history.ops(), step_budget)
}

/// Checks a set of operation records (any keys).
pub fn check_ops(ops: &[OpRecord], step_budget: u64) -> Verdict {
    let mut by_key: BTreeMap<Key, Vec<OpRecord>> = BTreeMap::new();
    for op in ops {
        by_key.entry(op.op.key()).or_default().push(*op);
    }
    for (key, ops) in by_key {
        match check_key(&ops, step_budget) {
            KeyVerdict::Linearizable => {}
            KeyVerdict::Unknown => return Verdict::Unknown { key },
            KeyVerdict::Violation => {
                let ops = minimise(&ops, |sub| {
                    matches!(check_key(sub, step_budget), KeyVerdict::Violation)
                });
                return Verdict::Violation(Witness { key, ops });
            }
        }
    }
    Verdict::Linearizable
}

/// Verdict for one key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyVerdict {
    /// Has a linearization.
    Linearizable,
    /// Has none.
    Violation,
    /// Budget exhausted.
    Unknown,
}

/// One operation as the search sees it.
#[derive(Clone, Copy, Debug)]
struct LinOp {
    op: KvOp,
    /// `None`: outcome unknown; any result the model produces is accepted.
    output: Option<KvOutput>,
    call: u64,
    ret: u64,
}

/// The register model with compare-and-set. Returns the next state, or `None` if the
/// recorded output is impossible from `state`.
fn step(state: Value, op: &KvOp, output: Option<KvOutput>) -> Option<Value> {
    match (*op, output) {
        (KvOp::Put { value, .. }, None | Some(KvOutput::Put)) => Some(value),
        (KvOp::Get { .. }, None) => Some(state),
        (KvOp::Get { .. }, Some(KvOutput::Get(v))) => (v == state).then_some(state),
        (KvOp::Cas { expected, new, .. }, out) => {
            let swapped = state == expected;
            let next = if swapped { new } else { state };
            match out {
                None => Some(next),
                Some(KvOutput::Cas(b)) => (b == swapped).then_some(next),
                Some(_) => None,
            }
        }
        _ => None,
    }
}

fn to_lin_ops(ops: &[OpRecord]) -> Vec<LinOp> {
    ops.iter()
        .filter_map(|r| {
            let (output, ret) = match r.outcome {
                Outcome::Ok(out) => (Some(out), r.complete.unwrap_or(u64::MAX)),
                Outcome::Fail => return None,
                // An unanswered read constrains nothing.
                Outcome::Info | Outcome::Pending if matches!(r.op, KvOp::Get { .. }) => {
                    return None;
                }
                Outcome::Info | Outcome::Pending => (None, u64::MAX),
            };
            Some(LinOp {
                op: r.op,
                output,
                call: r.invoke,
                ret,
            })
        })
        .collect()
}

const NIL: usize = usize::MAX;

/// The dancing-links event list: node `2i` is op `i`'s call, `2i+1` its return, and node
/// `2n` is the head sentinel.
struct EventList {
    prev: Vec<usize>,
    next: Vec<usize>,
    head: usize,
}

impl EventList {
    fn new(ops: &[LinOp]) -> EventList {
        let n = ops.len();
        let mut order: Vec<(u64, usize)> = Vec::with_capacity(2 * n);
        for (i, op) in ops.iter().enumerate() {
            order.push((op.call, 2 * i));
            order.push((op.ret, 2 * i + 1));
        }
        // Unknown returns share u64::MAX; the node id breaks the tie deterministically.
        order.sort_unstable();
        let head = 2 * n;
        let mut prev = vec![NIL; 2 * n + 1];
        let mut next = vec![NIL; 2 * n + 1];
        let mut last = head;
        for &(_, node) in &order {
            next[last] = node;
            prev[node] = last;
            last = node;
        }
        EventList { prev, next, head }
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

    /// Removes op `i`'s call and return.
    fn lift(&mut self, i: usize) {
        self.unlink(2 * i);
        self.unlink(2 * i + 1);
    }

    /// Undoes `lift(i)` (must be the most recent lift not yet undone).
    fn unlift(&mut self, i: usize) {
        self.relink(2 * i + 1);
        self.relink(2 * i);
    }
}

/// Checks the operations of a single key.
pub fn check_key(records: &[OpRecord], step_budget: u64) -> KeyVerdict {
    let ops = to_lin_ops(records);
    let n = ops.len();
    let mut list = EventList::new(&ops);
    let mut linearized = vec![0u64; n.div_ceil(64)];
    let mut cache: HashSet<(Vec<u64>, Value)> = HashSet::new();
    let mut calls: Vec<(usize, Value)> = Vec::new();
    let mut state = Value::ABSENT;
    let mut node = list.next[list.head];
    let mut steps = 0u64;
    while list.next[list.head] != NIL {
        steps += 1;
        if steps > step_budget {
            return KeyVerdict::Unknown;
        }
        if node == NIL {
            // Cannot happen (a call's return always follows it); backtrack defensively.
            node = list.head;
        }
        let i = node / 2;
        if node != list.head && node.is_multiple_of(2) {
            if let Some(next_state) = step(state, &ops[i].op, ops[i].output) {
                let (word, bit) = (i / 64, 1u64 << (i % 64));
                linearized[word] |= bit;
                if cache.insert((linearized.clone(), next_state)) {
                    calls.push((i, state));
                    state = next_state;
                    list.lift(i);
                    node = list.next[list.head];
                    continue;
                }
                linearized[word] &= !bit;
            }
            node = list.next[node];
        } else {
            // A return whose call is not linearized yet: backtrack.
            let Some((j, prev_state)) = calls.pop() else {
                return KeyVerdict::Violation;
            };
            state = prev_state;
            linearized[j / 64] &= !(1u64 << (j % 64));
            list.unlift(j);
            node = list.next[2 * j];
        }
    }
    KeyVerdict::Linearizable
}
