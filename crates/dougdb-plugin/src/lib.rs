//! DougDB's wasm plugin host (wasmtime): loads routing and compaction plugins, validates
//! them against ABI v1 (`dougdb-plugin-abi`) before the first call, runs every call under
//! fuel, memory and stack limits, and turns every failure into a [`PluginError`] naming the
//! plugin. `docs/plugins.md` describes the ABI and the limits.
//!
//! ```no_run
//! # fn main() -> dougdb_plugin::Result<()> {
//! use dougdb_plugin::{Limits, PluginHost, builtin_path};
//! let host = PluginHost::new(Limits::default())?;
//! let wasm = std::fs::read(builtin_path("hash-router")).unwrap_or_default();
//! let router = host.load_router("hash-router", &wasm, &[])?;
//! let shards = router.route(&[b"k1", b"k2"], 4)?;
//! # Ok(()) }
//! ```

#[cfg(feature = "storage-policy")]
mod adapter;
mod builtin;
mod compaction;
mod digest;
mod error;
mod host;
mod limits;
mod pool;
mod router;
mod scaffold;
mod slot;
mod state;
mod validate;

#[cfg(feature = "storage-policy")]
pub use adapter::WasmCompactionPolicy;
pub use builtin::{BUILTIN_PLUGINS, builtin_path, plugins_dir, range_router_config, read_builtin};
pub use compaction::CompactionPlugin;
pub use digest::Digest;
pub use dougdb_plugin_abi as abi;
pub use dougdb_plugin_abi::hash_route;
pub use error::{PluginError, Result};
pub use host::{Plugin, PluginHost};
pub use limits::Limits;
pub use router::Router;
pub use scaffold::{scaffold_files, sdk_dir};
pub use validate::PluginKind;
