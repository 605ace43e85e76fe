//! The cluster's plugins on a node.
//!
//! - Routing: the cluster file names the plugin clients route keys with. The built-in
//!   hash router (`hash`) needs no bytes (clients run it natively). Any other router is a
//!   wasm module: `range` is the built-in range router (configured by `splits`), anything
//!   else is read from `path`. At bootstrap the node loads it once (a plugin that does not
//!   load, or does not match the file's `sha256`, refuses the start), keeps a copy as
//!   `<data-dir>/routing.wasm`, and from then on serves that copy and its configuration in
//!   `ClusterMap` to every client, which checks the digest before routing with it.
//! - Compaction: the policy of every shard's LSM: `leveled` (default) and `tiered` are the
//!   engine's native policies; a `path` names a wasm compaction plugin that runs in the
//!   sandbox, with the leveled policy answering whenever the plugin fails (each failure is
//!   counted and exported as `dougdb_plugin_errors_total`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use dougdb_plugin::{Digest, Limits, PluginHost, WasmCompactionPolicy};
use dougdb_storage::lsm::{CompactionPolicy, LeveledPolicy, SizeTieredPolicy};

use crate::cluster::{CompactionEntry, RoutingEntry};
use crate::error::{Error, Result};

/// Name of the node's copy of the routing plugin inside its data dir.
pub const ROUTING_WASM_FILE: &str = "routing.wasm";

/// Names the built-in hash router goes by (clients run it natively, no bytes).
const HASH_NAMES: [&str; 3] = ["", "hash", "hash-router"];

/// Names of the built-in range router (a wasm module of `plugins/`).
const RANGE_NAMES: [&str; 2] = ["range", "range-router"];

/// The routing plugin as the node serves it.
#[derive(Clone, Debug, Default)]
pub struct Routing {
    /// Its name, as in the cluster file.
    pub name: String,
    /// sha256 of its wasm bytes (None for the built-in hash router).
    pub sha256: Option<[u8; 32]>,
    /// Its wasm bytes (None for the built-in hash router).
    pub wasm: Option<Arc<[u8]>>,
    /// The configuration passed to its `init` (e.g. the range router's split points).
    pub config: Vec<u8>,
}

fn plugin_err(name: &str, reason: impl Into<String>) -> Error {
    Error::Plugin {
        plugin: name.to_string(),
        reason: reason.into(),
    }
}

/// The routing plugin of `entry` for the node whose data dir is `data_dir`: read from the
/// data dir's copy when there is one (checked against the digest), else from the entry's
/// source, loaded once to prove it works, and copied into the data dir.
pub fn load_routing(entry: &RoutingEntry, data_dir: &Path) -> Result<Routing> {
    let name = entry.name.as_str();
    let config = entry.config_bytes().map_err(|r| plugin_err(name, r))?;
    if HASH_NAMES.contains(&name) {
        if !config.is_empty() {
            return Err(plugin_err(
                name,
                "the built-in hash router takes no configuration",
            ));
        }
        return Ok(Routing {
            name: name.to_string(),
            ..Routing::default()
        });
    }
    let copy = data_dir.join(ROUTING_WASM_FILE);
    let (wasm, fresh) = if copy.exists() {
        (read(name, &copy)?, false)
    } else {
        (read(name, &source_path(entry)?)?, true)
    };
    let found = Digest::of(&wasm);
    let expected = match entry.sha256.as_str() {
        "" => None,
        hex => Some(Digest::from_hex(hex).ok_or_else(|| {
            plugin_err(
                name,
                format!("sha256 {hex:?} is not 64 lowercase hex digits"),
            )
        })?),
    };
    if let Some(expected) = expected
        && expected != found
    {
        let which = if fresh {
            "the plugin file"
        } else {
            "the data dir's copy"
        };
        return Err(plugin_err(
            name,
            format!(
                "{which} has sha256 {}, the cluster file says {}: fix the digest (or the file)",
                found, expected
            ),
        ));
    }
    // Prove it loads and initialises with its configuration before anyone routes with it.
    let host = PluginHost::new(Limits::default()).map_err(|e| plugin_err(name, e.to_string()))?;
    host.load_router(name, &wasm, &config)
        .map_err(|e| plugin_err(name, e.to_string()))?;
    if fresh {
        write_copy(&copy, &wasm)?;
    }
    Ok(Routing {
        name: name.to_string(),
        sha256: Some(found.0),
        wasm: Some(Arc::from(wasm)),
        config,
    })
}

/// Where the bytes of a router other than the built-in hash router come from.
fn source_path(entry: &RoutingEntry) -> Result<PathBuf> {
    match (&entry.path, entry.name.as_str()) {
        (Some(path), _) => Ok(path.clone()),
        (None, name) if RANGE_NAMES.contains(&name) => {
            Ok(dougdb_plugin::builtin_path("range-router"))
        }
        (None, name) => Err(plugin_err(
            name,
            "not a built-in router (hash, range): give the plugin's .wasm file as `path`",
        )),
    }
}

fn read(name: &str, path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        plugin_err(
            name,
            format!(
                "cannot read {}: {e} (built-in plugins are built by scripts/build-plugins.sh; \
                 DOUGDB_PLUGIN_DIR points at installed copies)",
                path.display()
            ),
        )
    })
}

/// Writes the data dir's copy durably (temp file, fsync, rename).
fn write_copy(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let io = |cause| Error::Io {
        what: format!("writing {}", path.display()),
        cause,
    };
    let tmp = path.with_extension("wasm.tmp");
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(())
}

/// A compaction policy and, for a wasm plugin, the handle that counts its failures.
#[derive(Clone, Debug)]
pub struct Compaction {
    /// The policy every shard's LSM uses.
    pub policy: Arc<dyn CompactionPolicy>,
    /// The wasm plugin behind it, if any.
    pub plugin: Option<Arc<WasmCompactionPolicy>>,
}

impl Compaction {
    /// Failures of the wasm plugin so far (0 for a native policy).
    pub fn failures(&self) -> u64 {
        self.plugin.as_ref().map_or(0, |p| p.failures())
    }
}

/// The compaction policy `entry` names.
pub fn load_compaction(entry: &CompactionEntry) -> Result<Compaction> {
    let name = entry.name.as_str();
    let native = |policy: Arc<dyn CompactionPolicy>| Compaction {
        policy,
        plugin: None,
    };
    match (&entry.path, name) {
        (None, "" | "leveled") => Ok(native(Arc::new(LeveledPolicy::default()))),
        (None, "tiered") => Ok(native(Arc::new(SizeTieredPolicy::default()))),
        (None, other) => Err(plugin_err(
            other,
            "not a built-in compaction policy (leveled, tiered): give the plugin's .wasm \
             file as `path`",
        )),
        (Some(path), name) => {
            let wasm = read(name, path)?;
            if !entry.sha256.is_empty() {
                let found = Digest::of(&wasm);
                if Digest::from_hex(&entry.sha256) != Some(found) {
                    return Err(plugin_err(
                        name,
                        format!(
                            "{} has sha256 {}, the cluster file says {}",
                            path.display(),
                            found,
                            entry.sha256
                        ),
                    ));
                }
            }
            let host =
                PluginHost::new(Limits::default()).map_err(|e| plugin_err(name, e.to_string()))?;
            let plugin = host
                .load_compaction(name, &wasm, &[])
                .map_err(|e| plugin_err(name, e.to_string()))?;
            let wasm_policy = Arc::new(WasmCompactionPolicy::new(
                plugin,
                Arc::new(LeveledPolicy::default()),
            ));
            Ok(Compaction {
                policy: wasm_policy.clone(),
                plugin: Some(wasm_policy),
            })
        }
    }
}
