//! `dougdb._native`: the private extension module under the `dougdb` Python package. It is
//! deliberately thin: the native `Client` wraps `dougdb-client`, `run_server` runs the
//! `dougdb-server` command line (`python -m dougdb node|facade ...`), the admin functions
//! speak `dougdb.v1.Admin` (status, fault injection) for `LocalCluster`, and `Router`
//! exposes the wasm plugin host. Everything Pythonic (str keys, defaults, validation,
//! context managers) lives in `python/dougdb/`.
//!
//! Threads and signals: every blocking call releases the GIL and waits on its future in
//! short slices, checking for Ctrl-C between them (see [`runtime::wait`]).

mod admin;
mod check;
mod client;
mod errors;
mod plugin;
mod runtime;
mod server;

use pyo3::prelude::*;

/// The module object Python imports as `dougdb._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<client::Client>()?;
    m.add_class::<plugin::Router>()?;
    m.add_function(wrap_pyfunction!(server::run_server, m)?)?;
    m.add_function(wrap_pyfunction!(admin::admin_status, m)?)?;
    m.add_function(wrap_pyfunction!(admin::admin_partition, m)?)?;
    m.add_function(wrap_pyfunction!(admin::admin_cut, m)?)?;
    m.add_function(wrap_pyfunction!(admin::admin_heal, m)?)?;
    m.add_function(wrap_pyfunction!(plugin::load_plugin, m)?)?;
    m.add_function(wrap_pyfunction!(plugin::scaffold_files, m)?)?;
    m.add_function(wrap_pyfunction!(check::check_linearizable, m)?)?;
    Ok(())
}
