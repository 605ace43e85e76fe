//! `python -m dougdb node|facade ...`: runs the `dougdb-server` command line in this
//! process, so `LocalCluster` needs no separate binary.

use pyo3::prelude::*;

/// Runs `dougdb-server` with `argv` (the first item is the program name) until it exits
/// (SIGTERM or Ctrl-C for a node or facade); returns its exit status. The GIL is released
/// for the whole run; the server installs its own SIGINT/SIGTERM handling, so the process
/// is meant to do nothing else (it is a child process started by `LocalCluster` or a
/// user's `dougdb node ...`).
#[pyfunction]
pub(crate) fn run_server(py: Python<'_>, argv: Vec<String>) -> i32 {
    py.detach(move || dougdb_server::cli::main_with_args(argv))
}
