//! `dougdb.plugins.load(path)`: a routing plugin loaded into the wasm host, to call
//! directly from tests and notebooks, with the fuel each call used.

use std::path::PathBuf;

use dougdb_plugin::{Limits, Plugin, PluginHost};
use pyo3::prelude::*;

use crate::errors::{self, plugin_to_py};

/// A loaded routing plugin.
#[pyclass(module = "dougdb._native", frozen)]
#[derive(Debug)]
pub(crate) struct Router {
    router: dougdb_plugin::Router,
    path: PathBuf,
}

/// Loads the routing plugin at `path` (a `.wasm` file), validated against the ABI, under
/// the host's default limits; `config` goes to its init export.
#[pyfunction]
#[pyo3(signature = (path, config=Vec::new()))]
pub(crate) fn load_plugin(py: Python<'_>, path: PathBuf, config: Vec<u8>) -> PyResult<Router> {
    let file = path.clone();
    let plugin = py
        .detach(move || {
            let host = PluginHost::new(Limits::default())?;
            host.load_file(&file, &config)
        })
        .map_err(plugin_to_py)?;
    match plugin {
        Plugin::Router(router) => Ok(Router { router, path }),
        Plugin::Compaction(_) => Err(errors::invalid(format!(
            "{} is a compaction plugin; dougdb.plugins.load runs routing plugins only \
             (give a compaction plugin to LocalCluster(compaction=...) instead)",
            path.display()
        ))),
    }
}

#[pymethods]
impl Router {
    /// The shard in `[0, shard_count)` of each key, in order.
    #[pyo3(signature = (keys, shard_count))]
    fn route(&self, py: Python<'_>, keys: Vec<Vec<u8>>, shard_count: u32) -> PyResult<Vec<u32>> {
        let router = self.router.clone();
        py.detach(move || {
            let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
            router.route(&refs, shard_count)
        })
        .map_err(plugin_to_py)
    }

    /// Fuel the last call used (wasmtime's deterministic instruction budget).
    #[getter]
    fn last_fuel_used(&self) -> u64 {
        self.router.last_fuel_used()
    }

    /// The name the plugin was loaded under (the file's stem).
    #[getter]
    fn name(&self) -> String {
        self.router.name().to_string()
    }

    /// Lowercase hex sha256 of the module's bytes.
    #[getter]
    fn sha256(&self) -> String {
        self.router.digest().to_string()
    }

    /// The file it was loaded from.
    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "<dougdb plugin {:?} from {}>",
            self.router.name(),
            self.path.display()
        )
    }
}

/// The files of a new plugin crate `name` (`kind`: `"router"` or `"compaction"`) that
/// depends on the SDK in `sdk_dir`: `(relative path, contents)` pairs, from the same
/// templates the Rust host's scaffold uses.
#[pyfunction]
pub(crate) fn scaffold_files(
    name: &str,
    kind: &str,
    sdk_dir: PathBuf,
) -> PyResult<Vec<(String, String)>> {
    let kind = match kind {
        "router" => dougdb_plugin::PluginKind::Router,
        "compaction" => dougdb_plugin::PluginKind::Compaction,
        other => {
            return Err(errors::invalid(format!(
                "kind must be \"router\" or \"compaction\", not {other:?}"
            )));
        }
    };
    Ok(dougdb_plugin::scaffold_files(name, kind, &sdk_dir)
        .into_iter()
        .map(|(path, text)| (path.to_string_lossy().into_owned(), text))
        .collect())
}
