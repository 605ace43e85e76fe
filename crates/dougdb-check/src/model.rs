//! The sequential model of one key (a register that may be absent, with delete and
//! compare-and-set) and the compact form the search works on: every distinct value of the
//! key is interned as a small integer, so model states are copied and hashed cheaply
//! whatever the value type.

use std::collections::HashMap;
use std::hash::Hash;

use crate::error::CheckError;
use crate::op::{Command, Operation, Outcome, Output};

/// An interned register state: `ABSENT`, or the value numbered `n >= 1`.
pub(crate) type State = u32;

/// The state of a key nobody has written (or that was deleted).
pub(crate) const ABSENT: State = 0;

/// One operation as the model sees it; `None` results are unknown (`info`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Act {
    /// A read that returned this state.
    Get { read: State },
    /// A write of `value` (no result to check).
    Put { value: State },
    /// A delete; whether the key existed, if known.
    Delete { existed: Option<bool> },
    /// A compare-and-set; whether it swapped, if known.
    Cas {
        expected: State,
        new: State,
        swapped: Option<bool>,
    },
}

impl Act {
    /// Applies the operation to `state`: the next state, or `None` if the recorded result
    /// is impossible from `state`.
    pub(crate) fn step(self, state: State) -> Option<State> {
        match self {
            Act::Get { read } => (read == state).then_some(state),
            Act::Put { value } => Some(value),
            Act::Delete { existed } => existed
                .is_none_or(|e| e == (state != ABSENT))
                .then_some(ABSENT),
            Act::Cas {
                expected,
                new,
                swapped,
            } => {
                let swaps = state == expected;
                let next = if swaps { new } else { state };
                swapped.is_none_or(|s| s == swaps).then_some(next)
            }
        }
    }

    /// The non-absent value this operation may leave in the key.
    pub(crate) fn writes(self) -> Option<State> {
        match self {
            Act::Put { value } => Some(value),
            Act::Cas { new, swapped, .. } if swapped != Some(false) => Some(new),
            _ => None,
        }
    }

    /// What this operation saw that only a write can explain.
    pub(crate) fn observes(self) -> Option<Observation> {
        match self {
            Act::Get { read } if read != ABSENT => Some(Observation::Value(read)),
            Act::Cas {
                expected,
                swapped: Some(true),
                ..
            } if expected != ABSENT => Some(Observation::Value(expected)),
            Act::Cas {
                expected: ABSENT,
                swapped: Some(false),
                ..
            }
            | Act::Delete {
                existed: Some(true),
            } => Some(Observation::AnyValue),
            _ => None,
        }
    }
}

/// A fact an operation observed about the key that needs some write to explain it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Observation {
    /// The key held this value.
    Value(State),
    /// The key held some value.
    AnyValue,
}

/// One operation of a key's history, ready for the search.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Entry {
    /// What it does and returned.
    pub(crate) act: Act,
    /// Invocation time.
    pub(crate) call: u64,
    /// Completion time; `None` for `info` (it may take effect any time after `call`).
    pub(crate) ret: Option<u64>,
    /// Position in the caller's input.
    pub(crate) index: usize,
}

/// Checks `ops[i]` for every `i` in `indices` and turns the ones that can constrain the
/// search into entries: `fail` operations and `info` reads are dropped.
pub(crate) fn entries<'a, K, V: Eq + Hash>(
    ops: &'a [Operation<K, V>],
    indices: &[usize],
) -> Result<Vec<Entry>, CheckError> {
    let mut values: HashMap<&'a V, State> = HashMap::new();
    let mut intern = |v: Option<&'a V>| -> State {
        match v {
            None => ABSENT,
            Some(v) => {
                let next = State::try_from(values.len() + 1).unwrap_or(State::MAX);
                *values.entry(v).or_insert(next)
            }
        }
    };
    let mut out = Vec::with_capacity(indices.len());
    for &index in indices {
        let Some(op) = ops.get(index) else { continue };
        let output = match &op.outcome {
            Outcome::Fail => continue,
            Outcome::Info => None,
            Outcome::Ok(output) => {
                if !op.command.accepts(output) {
                    return Err(CheckError::OutputMismatch { index });
                }
                Some(output)
            }
        };
        let ret = match (output, op.complete) {
            (None, _) => None,
            (Some(_), None) => return Err(CheckError::OkWithoutCompletion { index }),
            (Some(_), Some(complete)) if complete < op.invoke => {
                return Err(CheckError::CompletedBeforeInvoked {
                    index,
                    invoke: op.invoke,
                    complete,
                });
            }
            (Some(_), Some(complete)) => Some(complete),
        };
        let act = match (&op.command, output) {
            (Command::Get, None) => continue,
            (Command::Get, Some(Output::Get(read))) => Act::Get {
                read: intern(read.as_ref()),
            },
            (Command::Put { value }, _) => Act::Put {
                value: intern(Some(value)),
            },
            (Command::Delete, out) => Act::Delete {
                existed: match out {
                    Some(Output::Delete { existed }) => Some(*existed),
                    _ => None,
                },
            },
            (Command::Cas { expected, new }, out) => Act::Cas {
                expected: intern(expected.as_ref()),
                new: intern(Some(new)),
                swapped: match out {
                    Some(Output::Cas { swapped }) => Some(*swapped),
                    _ => None,
                },
            },
            (Command::Get, Some(_)) => return Err(CheckError::OutputMismatch { index }),
        };
        out.push(Entry {
            act,
            call: op.invoke,
            ret,
            index,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_register_model() {
        let (a, b) = (1, 2);
        assert_eq!(Act::Get { read: a }.step(a), Some(a));
        assert_eq!(Act::Get { read: a }.step(b), None);
        assert_eq!(Act::Get { read: ABSENT }.step(ABSENT), Some(ABSENT));
        assert_eq!(Act::Put { value: b }.step(a), Some(b));
        let del = |existed| Act::Delete { existed };
        assert_eq!(del(Some(true)).step(a), Some(ABSENT));
        assert_eq!(del(Some(true)).step(ABSENT), None);
        assert_eq!(del(Some(false)).step(ABSENT), Some(ABSENT));
        assert_eq!(del(None).step(a), Some(ABSENT));
        let cas = |expected, swapped| Act::Cas {
            expected,
            new: b,
            swapped,
        };
        assert_eq!(cas(a, Some(true)).step(a), Some(b));
        assert_eq!(cas(a, Some(true)).step(ABSENT), None);
        assert_eq!(cas(a, Some(false)).step(ABSENT), Some(ABSENT));
        assert_eq!(cas(ABSENT, Some(true)).step(ABSENT), Some(b));
        assert_eq!(cas(ABSENT, Some(false)).step(a), Some(a));
        assert_eq!(cas(a, None).step(a), Some(b));
        assert_eq!(cas(a, None).step(ABSENT), Some(ABSENT));
    }

    #[test]
    fn failed_calls_and_unanswered_reads_are_dropped_and_values_interned() {
        let op = |command, outcome, complete| Operation {
            key: (),
            command,
            outcome,
            invoke: 1,
            complete,
        };
        let ops = vec![
            op(
                Command::Put { value: "x" },
                Outcome::Ok(Output::Put),
                Some(2),
            ),
            op(Command::Get, Outcome::Info, None),
            op(Command::Put { value: "y" }, Outcome::Fail, Some(2)),
            op(Command::Get, Outcome::Ok(Output::Get(Some("x"))), Some(3)),
            op(Command::Delete, Outcome::Info, None),
        ];
        let e = entries(&ops, &[0, 1, 2, 3, 4]).unwrap();
        let acts: Vec<Act> = e.iter().map(|e| e.act).collect();
        assert_eq!(
            acts,
            vec![
                Act::Put { value: 1 },
                Act::Get { read: 1 },
                Act::Delete { existed: None }
            ]
        );
        assert_eq!(e.iter().map(|e| e.index).collect::<Vec<_>>(), vec![0, 3, 4]);
        assert_eq!(e[2].ret, None);
    }

    #[test]
    fn malformed_operations_are_rejected() {
        let op = |outcome, complete| Operation {
            key: (),
            command: Command::<u8>::Get,
            outcome,
            invoke: 5,
            complete,
        };
        let bad = [
            (
                op(Outcome::Ok(Output::Get(None)), None),
                CheckError::OkWithoutCompletion { index: 0 },
            ),
            (
                op(Outcome::Ok(Output::Get(None)), Some(4)),
                CheckError::CompletedBeforeInvoked {
                    index: 0,
                    invoke: 5,
                    complete: 4,
                },
            ),
            (
                op(Outcome::Ok(Output::Cas { swapped: true }), Some(6)),
                CheckError::OutputMismatch { index: 0 },
            ),
        ];
        for (op, err) in bad {
            assert_eq!(entries(&[op], &[0]).unwrap_err(), err);
        }
    }
}
