//! Property tests: the checker agrees with a brute-force reference on random small
//! histories, its witnesses are minimal, and histories produced by a simulated atomic
//! register are always linearizable. (proptest prints a failing case's seed and shrinks
//! it; `PROPTEST_CASES` runs more.)

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns: a malformed test history should panic

mod common;

use common::*;
use dougdb_check::{Command, DEFAULT_STEP_BUDGET, Operation, Outcome, Output, Verdict, check};
use proptest::prelude::*;

/// One raw generated call: key, kind, value, expected, start, length, outcome, result.
type Raw = (u8, u8, u32, Option<u32>, u64, u64, u8, (Option<u32>, bool));

fn raw() -> impl Strategy<Value = Raw> {
    (
        0u8..2,
        0u8..4,
        1u32..4,
        proptest::option::of(1u32..4),
        0u64..20,
        0u64..8,
        0u8..10,
        (proptest::option::of(1u32..4), any::<bool>()),
    )
}

fn command(kind: u8, value: u32, expected: Option<u32>) -> Command<u32> {
    match kind {
        0 => Command::Get,
        1 => Command::Put { value },
        2 => Command::Delete,
        _ => Command::Cas {
            expected,
            new: value,
        },
    }
}

/// A call with an arbitrary (often impossible) recorded result.
fn arbitrary_op(r: Raw) -> Op {
    let (key, kind, value, expected, start, len, outcome, (read, flag)) = r;
    let command = command(kind, value, expected);
    let output = match command {
        Command::Get => Output::Get(read),
        Command::Put { .. } => Output::Put,
        Command::Delete => Output::Delete { existed: flag },
        Command::Cas { .. } => Output::Cas { swapped: flag },
    };
    let outcome = match outcome {
        0..=6 => Outcome::Ok(output),
        7..=8 => Outcome::Info,
        _ => Outcome::Fail,
    };
    Operation {
        key,
        command,
        outcome,
        invoke: start,
        complete: Some(start + len),
    }
}

/// Calls whose results come from an atomic register applied at a random instant inside
/// each call (info calls applied or not, fail calls not): linearizable by construction.
fn executed(raws: Vec<(Raw, u64)>) -> Vec<Op> {
    let mut ops: Vec<(u64, Op)> = raws
        .into_iter()
        .map(|(r, at)| {
            let o = arbitrary_op(r);
            let len = o.complete.unwrap_or(o.invoke) - o.invoke;
            (o.invoke + at % (len + 1), o)
        })
        .collect();
    let mut order: Vec<usize> = (0..ops.len()).collect();
    order.sort_by_key(|&i| ops[i].0);
    let mut regs = [None::<u32>; 2];
    for i in order {
        let o = &mut ops[i].1;
        let reg = &mut regs[usize::from(o.key)];
        let applied = match o.outcome {
            Outcome::Fail => continue,
            Outcome::Info => o.invoke.is_multiple_of(2),
            Outcome::Ok(_) => true,
        };
        if !applied {
            continue;
        }
        let output = match &o.command {
            Command::Get => Output::Get(*reg),
            Command::Put { value } => {
                *reg = Some(*value);
                Output::Put
            }
            Command::Delete => Output::Delete {
                existed: reg.take().is_some(),
            },
            Command::Cas { expected, new } => {
                let swapped = *reg == *expected;
                if swapped {
                    *reg = Some(*new);
                }
                Output::Cas { swapped }
            }
        };
        if matches!(o.outcome, Outcome::Ok(_)) {
            o.outcome = Outcome::Ok(output);
        }
    }
    ops.into_iter().map(|(_, o)| o).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn agrees_with_the_brute_force_reference(raws in proptest::collection::vec(raw(), 0..9)) {
        let ops: Vec<Op> = raws.into_iter().map(arbitrary_op).collect();
        let bad = reference_bad_keys(&ops);
        let report = check(&ops, DEFAULT_STEP_BUDGET).unwrap();
        match report.verdict {
            Verdict::Linearizable => prop_assert!(bad.is_empty(), "reference: {bad:?} bad"),
            Verdict::Violation { key, witness, minimal } => {
                prop_assert_eq!(bad.first().copied(), Some(key));
                prop_assert!(minimal);
                assert_minimal_witness(&ops, key, &witness);
            }
            Verdict::Unknown { key } => prop_assert!(false, "unknown on {key}"),
        }
    }

    #[test]
    fn executions_of_an_atomic_register_are_linearizable(
        raws in proptest::collection::vec((raw(), any::<u64>()), 0..40)
    ) {
        let ops = executed(raws);
        let report = check(&ops, DEFAULT_STEP_BUDGET).unwrap();
        prop_assert_eq!(report.verdict, Verdict::Linearizable);
    }
}
