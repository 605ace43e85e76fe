//! The linearizability check of a simulated run: the client history is handed to
//! `dougdb-check` (per-key Wing-Gong/Lowe search with a step budget, minimal witnesses;
//! the same checker `dougdb.testing.check` uses). This file only adapts the simulator's
//! records to it and its verdict back to records.
//!
//! The checker is generic over key and value types, so the simulator's `Key(u8)` and
//! `Value(u64)` are passed as they are (no conversion to bytes, no allocation); only
//! `Value::ABSENT` becomes "absent" (`None`), since no write in a run writes it.

use std::fmt;

use dougdb_check::{Command, Operation, Outcome as CheckOutcome, Output};

use crate::history::{History, OpRecord, Outcome};
use crate::kv::{Key, KvOp, KvOutput, Value};

/// Default search budget per key (events visited).
pub const DEFAULT_STEP_BUDGET: u64 = 2_000_000;

/// A non-linearizable key and a minimal set of its operations that already is not.
#[derive(Clone, Debug)]
pub struct Witness {
    /// The key whose history cannot be linearized.
    pub key: Key,
    /// The witness (1-minimal among self-explaining subsets, see `dougdb-check`), in
    /// invocation order.
    pub ops: Vec<OpRecord>,
}

impl fmt::Display for Witness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
pub fn check_ops(records: &[OpRecord], step_budget: u64) -> Verdict {
    let ops: Vec<Operation<Key, Value>> = records.iter().map(to_check).collect();
    match dougdb_check::check(&ops, step_budget) {
        Ok(report) => match report.verdict {
            dougdb_check::Verdict::Linearizable => Verdict::Linearizable,
            dougdb_check::Verdict::Unknown { key } => Verdict::Unknown { key },
            dougdb_check::Verdict::Violation { key, witness, .. } => Verdict::Violation(Witness {
                key,
                ops: witness
                    .iter()
                    .filter_map(|&i| records.get(i))
                    .copied()
                    .collect(),
            }),
        },
        // `History` only ever records `ok` with a completion after the invocation and an
        // output of the operation's kind; anything else is a simulator bug.
        Err(e) => panic!("the simulator recorded a malformed history: {e}"),
    }
}

fn present(v: Value) -> Option<Value> {
    (v != Value::ABSENT).then_some(v)
}

/// The checker's view of one record.
fn to_check(r: &OpRecord) -> Operation<Key, Value> {
    let command = match r.op {
        KvOp::Get { .. } => Command::Get,
        KvOp::Put { value, .. } => Command::Put { value },
        KvOp::Cas { expected, new, .. } => Command::Cas {
            expected: present(expected),
            new,
        },
    };
    let outcome = match r.outcome {
        Outcome::Ok(KvOutput::Get(v)) => CheckOutcome::Ok(Output::Get(present(v))),
        Outcome::Ok(KvOutput::Put) => CheckOutcome::Ok(Output::Put),
        Outcome::Ok(KvOutput::Cas(swapped)) => CheckOutcome::Ok(Output::Cas { swapped }),
        Outcome::Fail => CheckOutcome::Fail,
        Outcome::Info | Outcome::Pending => CheckOutcome::Info,
    };
    Operation {
        key: r.op.key(),
        command,
        outcome,
        invoke: r.invoke,
        complete: r.complete,
    }
}
