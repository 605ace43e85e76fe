//! Shared by the integration tests: a tiny history builder and a brute-force reference
//! checker that is obviously correct (it tries every order).

#![allow(dead_code)]

use dougdb_check::{Command, Operation, Outcome, Output};

pub type Op = Operation<u8, u32>;

pub fn op(key: u8, command: Command<u32>, outcome: Outcome<u32>, span: (u64, u64)) -> Op {
    Operation {
        key,
        command,
        outcome,
        invoke: span.0,
        complete: Some(span.1),
    }
}

pub fn put(key: u8, v: u32, span: (u64, u64)) -> Op {
    op(
        key,
        Command::Put { value: v },
        Outcome::Ok(Output::Put),
        span,
    )
}

pub fn get(key: u8, read: Option<u32>, span: (u64, u64)) -> Op {
    op(key, Command::Get, Outcome::Ok(Output::Get(read)), span)
}

pub fn del(key: u8, existed: bool, span: (u64, u64)) -> Op {
    op(
        key,
        Command::Delete,
        Outcome::Ok(Output::Delete { existed }),
        span,
    )
}

pub fn cas(key: u8, expected: Option<u32>, new: u32, swapped: bool, span: (u64, u64)) -> Op {
    op(
        key,
        Command::Cas { expected, new },
        Outcome::Ok(Output::Cas { swapped }),
        span,
    )
}

/// The same call with an unknown outcome.
pub fn info(mut o: Op) -> Op {
    o.outcome = Outcome::Info;
    o.complete = None;
    o
}

/// The same call, failed.
pub fn fail(mut o: Op) -> Op {
    o.outcome = Outcome::Fail;
    o
}

fn apply(state: Option<u32>, o: &Op) -> Option<Option<u32>> {
    let known = match &o.outcome {
        Outcome::Ok(out) => Some(out),
        _ => None,
    };
    match (&o.command, known) {
        (Command::Get, Some(Output::Get(v))) => (*v == state).then_some(state),
        (Command::Get, _) => Some(state),
        (Command::Put { value }, _) => Some(Some(*value)),
        (Command::Delete, Some(Output::Delete { existed })) => {
            (*existed == state.is_some()).then_some(None)
        }
        (Command::Delete, _) => Some(None),
        (Command::Cas { expected, new }, out) => {
            let swaps = state == *expected;
            let next = if swaps { Some(*new) } else { state };
            match out {
                Some(Output::Cas { swapped }) => (*swapped == swaps).then_some(next),
                _ => Some(next),
            }
        }
    }
}

/// Brute force: is this one key's history linearizable? Tries every order of the calls
/// that respects real time, with info calls optional.
pub fn reference_key(ops: &[&Op]) -> bool {
    let ops: Vec<&Op> = ops
        .iter()
        .copied()
        .filter(|o| !matches!(o.outcome, Outcome::Fail))
        .collect();
    let must_precede = |a: &Op, b: &Op| {
        matches!(a.outcome, Outcome::Ok(_)) && a.complete.is_some_and(|c| c < b.invoke)
    };
    fn go(
        ops: &[&Op],
        placed: &mut Vec<bool>,
        state: Option<u32>,
        must_precede: &dyn Fn(&Op, &Op) -> bool,
    ) -> bool {
        let done = ops
            .iter()
            .zip(placed.iter())
            .all(|(o, &p)| p || !matches!(o.outcome, Outcome::Ok(_)));
        if done {
            return true;
        }
        for i in 0..ops.len() {
            if placed[i] {
                continue;
            }
            let ready =
                (0..ops.len()).all(|j| placed[j] || j == i || !must_precede(ops[j], ops[i]));
            if !ready {
                continue;
            }
            if let Some(next) = apply(state, ops[i]) {
                placed[i] = true;
                if go(ops, placed, next, must_precede) {
                    return true;
                }
                placed[i] = false;
            }
        }
        false
    }
    let mut placed = vec![false; ops.len()];
    go(&ops, &mut placed, None, &must_precede)
}

/// Brute force over a whole history: the keys that are not linearizable.
pub fn reference_bad_keys(ops: &[Op]) -> Vec<u8> {
    let mut keys: Vec<u8> = ops.iter().map(|o| o.key).collect();
    keys.sort_unstable();
    keys.dedup();
    keys.into_iter()
        .filter(|k| {
            let mine: Vec<&Op> = ops.iter().filter(|o| o.key == *k).collect();
            !reference_key(&mine)
        })
        .collect()
}

fn written(o: &Op) -> Option<u32> {
    match (&o.command, &o.outcome) {
        (Command::Put { value }, Outcome::Ok(_) | Outcome::Info) => Some(*value),
        (Command::Cas { new, .. }, Outcome::Info) => Some(*new),
        (Command::Cas { new, .. }, Outcome::Ok(Output::Cas { swapped: true })) => Some(*new),
        _ => None,
    }
}

/// Values an operation observed that only a write can explain (`u32::MAX`: any value).
fn observed(o: &Op) -> Option<u32> {
    match (&o.command, &o.outcome) {
        (Command::Get, Outcome::Ok(Output::Get(Some(v)))) => Some(*v),
        (
            Command::Cas {
                expected: Some(v), ..
            },
            Outcome::Ok(Output::Cas { swapped: true }),
        ) => Some(*v),
        (Command::Cas { expected: None, .. }, Outcome::Ok(Output::Cas { swapped: false }))
        | (Command::Delete, Outcome::Ok(Output::Delete { existed: true })) => Some(u32::MAX),
        _ => None,
    }
}

/// The witness rule: every observation of `subset` the full key history can explain is
/// explained within `subset`.
pub fn self_explaining(full: &[&Op], subset: &[&Op]) -> bool {
    let explains = |ops: &[&Op], v: u32| {
        ops.iter()
            .filter_map(|o| written(o))
            .any(|w| v == u32::MAX || w == v)
    };
    subset
        .iter()
        .filter_map(|o| observed(o))
        .all(|v| !explains(full, v) || explains(subset, v))
}

/// Asserts `witness` (indices into `ops`) is a 1-minimal self-explaining non-linearizable
/// subset of `key`'s operations.
pub fn assert_minimal_witness(ops: &[Op], key: u8, witness: &[usize]) {
    let full: Vec<&Op> = ops.iter().filter(|o| o.key == key).collect();
    let w: Vec<&Op> = witness.iter().map(|&i| &ops[i]).collect();
    assert!(w.iter().all(|o| o.key == key), "witness on another key");
    assert!(!reference_key(&w), "witness {witness:?} is linearizable");
    assert!(
        self_explaining(&full, &w),
        "witness {witness:?} explains too little"
    );
    for drop in 0..w.len() {
        let rest: Vec<&Op> = w
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != drop)
            .map(|(_, o)| *o)
            .collect();
        assert!(
            reference_key(&rest) || !self_explaining(&full, &rest),
            "witness {witness:?} is not minimal: op {} can go",
            witness[drop]
        );
    }
}
