//! The one translation of native errors into the Python exceptions of `dougdb.errors`
//! (the classes are defined in Python, so `except dougdb.TimeoutError` and the builtin
//! bases work as users expect; this module imports them). Every message comes from the
//! Rust error's `Display`, which says what went wrong and what to do.

use dougdb_client::Error;
use pyo3::PyErr;

/// The exception classes of `python/dougdb/errors.py`, imported on first use.
mod py {
    pyo3::import_exception!(dougdb.errors, DougDBError);
    pyo3::import_exception!(dougdb.errors, UnavailableError);
    pyo3::import_exception!(dougdb.errors, NotLeaderError);
    pyo3::import_exception!(dougdb.errors, TimeoutError);
    pyo3::import_exception!(dougdb.errors, ConnectionError);
    pyo3::import_exception!(dougdb.errors, InvalidArgumentError);
    pyo3::import_exception!(dougdb.errors, PluginError);
    pyo3::import_exception!(dougdb.errors, CorruptionError);
}

/// The Python exception for a client error (also used for admin RPC failures, which the
/// admin module first expresses as client errors).
pub(crate) fn to_py(err: Error) -> PyErr {
    let message = err.to_string();
    match err {
        Error::Unavailable { .. } => py::UnavailableError::new_err(message),
        Error::NotLeader { shard, leader_hint } => {
            // NotLeaderError(message, leader_hint, shard): see errors.py.
            py::NotLeaderError::new_err((message, leader_hint.map(|n| n.0), shard.0))
        }
        Error::Timeout { .. } => py::TimeoutError::new_err(message),
        Error::Connection { .. } => py::ConnectionError::new_err(message),
        Error::InvalidArgument { .. } => py::InvalidArgumentError::new_err(message),
        Error::Plugin { .. } | Error::PluginDigestMismatch { .. } => {
            py::PluginError::new_err(message)
        }
        Error::Corruption { .. } => py::CorruptionError::new_err(message),
        Error::Protocol { .. } => py::DougDBError::new_err(message),
    }
}

/// The Python exception for a plugin host error: `InvalidArgumentError` for a bad call
/// (shard count 0, too many keys), `PluginError` for everything the plugin did or lacks.
pub(crate) fn plugin_to_py(err: dougdb_plugin::PluginError) -> PyErr {
    let message = err.to_string();
    match err {
        dougdb_plugin::PluginError::InvalidArgument { .. } => {
            py::InvalidArgumentError::new_err(message)
        }
        _ => py::PluginError::new_err(message),
    }
}

/// A bad argument caught on this side (unknown consistency, negative timeout).
pub(crate) fn invalid(message: String) -> PyErr {
    py::InvalidArgumentError::new_err(message)
}

/// A failure with no more specific class (runtime start-up, internal errors).
pub(crate) fn dougdb_error(message: String) -> PyErr {
    py::DougDBError::new_err(message)
}
