//! `_native.check_linearizable`: the `dougdb-check` linearizability checker for
//! `dougdb.testing.check`, which turns `Op` records into the tuples taken here and the
//! answer back into a `Verdict`. The search runs with the GIL released.

use dougdb_check::{Command, Operation, Outcome, Output, Verdict};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors;

/// One call as Python passes it: `(key, kind, value, expected, status, result, invoke,
/// complete)`, the fields of `dougdb.testing.Op` of the same names.
type OpTuple<'py> = (
    Vec<u8>,
    String,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    String,
    Bound<'py, PyAny>,
    u64,
    Option<u64>,
);

/// What the checker answers: verdict (`"linearizable"`, `"violation"`, `"unknown"`),
/// the key it concerns, the witness as indices into the input, the steps used.
type Answer<'py> = (&'static str, Option<Bound<'py, PyBytes>>, Vec<usize>, u64);

/// Checks that a history of single-key calls is linearizable (see `dougdb-check`), with
/// at most `step_budget` search steps per key.
#[pyfunction]
pub(crate) fn check_linearizable<'py>(
    py: Python<'py>,
    ops: Vec<OpTuple<'py>>,
    step_budget: u64,
) -> PyResult<Answer<'py>> {
    let ops = ops
        .into_iter()
        .enumerate()
        .map(|(i, op)| to_operation(i, op))
        .collect::<PyResult<Vec<_>>>()?;
    let report = py
        .detach(move || dougdb_check::check(&ops, step_budget))
        .map_err(|e| errors::invalid(e.to_string()))?;
    let bytes = |k: Vec<u8>| Some(PyBytes::new(py, &k));
    Ok(match report.verdict {
        Verdict::Linearizable => ("linearizable", None, Vec::new(), report.steps),
        Verdict::Violation { key, witness, .. } => ("violation", bytes(key), witness, report.steps),
        Verdict::Unknown { key } => ("unknown", bytes(key), Vec::new(), report.steps),
    })
}

fn to_operation(index: usize, op: OpTuple<'_>) -> PyResult<Operation<Vec<u8>, Vec<u8>>> {
    let (key, kind, value, expected, status, result, invoke, complete) = op;
    let bad = |what: &str| errors::invalid(format!("operation {index} ({kind}): {what}"));
    let written = |value: Option<Vec<u8>>| value.ok_or_else(|| bad("a write needs a value"));
    let command = match kind.as_str() {
        "get" => Command::Get,
        "put" => Command::Put {
            value: written(value)?,
        },
        "delete" => Command::Delete,
        "cas" => Command::Cas {
            expected,
            new: written(value)?,
        },
        _ => return Err(bad("kind must be get, put, delete or cas")),
    };
    let flag = |name: &str| {
        result
            .extract::<bool>()
            .map_err(|_| bad(&format!("an ok result must be {name} (a bool)")))
    };
    let outcome = match status.as_str() {
        "fail" => Outcome::Fail,
        "info" => Outcome::Info,
        "ok" => Outcome::Ok(match command {
            Command::Get => Output::Get(
                result
                    .extract::<Option<Vec<u8>>>()
                    .map_err(|_| bad("an ok read's result must be bytes or None"))?,
            ),
            Command::Put { .. } => Output::Put,
            Command::Delete => Output::Delete {
                existed: flag("existed")?,
            },
            Command::Cas { .. } => Output::Cas {
                swapped: flag("swapped")?,
            },
        }),
        _ => return Err(bad("status must be ok, fail or info")),
    };
    Ok(Operation {
        key,
        command,
        outcome,
        invoke,
        complete,
    })
}
