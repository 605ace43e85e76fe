//! `PluginHost`: one wasmtime `Engine` configured for determinism and limits, the `dougdb`
//! import module, and a cache of compiled, validated modules keyed by sha256 digest.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use dougdb_plugin_abi::{IMPORT_LOG, IMPORT_MODULE};
use parking_lot::Mutex;
use wasmtime::{Config, Engine, InstancePre, Linker, Module};

use crate::pool::{LoadParts, Loaded};
use crate::state::{self, HostState};
use crate::{
    CompactionPlugin, Digest, Limits, PluginError, PluginKind, Result, Router, slot, validate,
};

/// Loads and runs plugins. Cheap to clone (an `Arc`); `Send + Sync`.
#[derive(Clone)]
pub struct PluginHost {
    inner: Arc<HostInner>,
}

struct HostInner {
    engine: Engine,
    linker: Linker<HostState>,
    limits: Arc<Limits>,
    cache: Mutex<HashMap<Digest, Compiled>>,
    modules_compiled: AtomicU64,
}

/// A module that passed every load-time check, ready to instantiate.
#[derive(Clone)]
struct Compiled {
    pre: InstancePre<HostState>,
    kind: PluginKind,
    has_init: bool,
}

impl std::fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginHost")
            .field("limits", &self.inner.limits)
            .field("modules_cached", &self.inner.cache.lock().len())
            .finish_non_exhaustive()
    }
}

/// A plugin of either kind, as [`PluginHost::load`] found it.
#[derive(Debug, Clone)]
pub enum Plugin {
    /// A routing plugin.
    Router(Router),
    /// A compaction plugin.
    Compaction(CompactionPlugin),
}

impl PluginHost {
    /// An engine with fuel, NaN canonicalisation, deterministic relaxed SIMD and the stack
    /// cap of `limits`.
    pub fn new(limits: Limits) -> Result<Self> {
        let engine_err = |err: wasmtime::Error| PluginError::Engine {
            message: format!("{err:#}"),
        };
        let mut config = Config::new();
        config
            .consume_fuel(true)
            .cranelift_nan_canonicalization(true)
            .relaxed_simd_deterministic(true)
            .max_wasm_stack(limits.stack_bytes_max);
        let engine = Engine::new(&config).map_err(engine_err)?;
        let mut linker = Linker::new(&engine);
        linker
            .func_wrap(IMPORT_MODULE, IMPORT_LOG, state::log)
            .map_err(engine_err)?;
        Ok(Self {
            inner: Arc::new(HostInner {
                engine,
                linker,
                limits: Arc::new(limits),
                cache: Mutex::new(HashMap::new()),
                modules_compiled: AtomicU64::new(0),
            }),
        })
    }

    /// The limits every call runs under.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// How many modules this host has compiled (cache misses), for tests and metrics.
    pub fn modules_compiled(&self) -> u64 {
        self.inner.modules_compiled.load(Ordering::Relaxed)
    }

    /// Loads a routing plugin. `config` goes to its init export (empty if it has none).
    pub fn load_router(&self, name: &str, wasm: &[u8], config: &[u8]) -> Result<Router> {
        let loaded = self.load_kind(name, wasm, config, Some(PluginKind::Router))?;
        Ok(Router::from_loaded(loaded))
    }

    /// Loads a compaction plugin. `config` goes to its init export (empty if it has none).
    pub fn load_compaction(
        &self,
        name: &str,
        wasm: &[u8],
        config: &[u8],
    ) -> Result<CompactionPlugin> {
        let loaded = self.load_kind(name, wasm, config, Some(PluginKind::Compaction))?;
        Ok(CompactionPlugin::from_loaded(loaded))
    }

    /// Loads a plugin of whichever kind its exports declare.
    pub fn load(&self, name: &str, wasm: &[u8], config: &[u8]) -> Result<Plugin> {
        let loaded = self.load_kind(name, wasm, config, None)?;
        Ok(match loaded.kind {
            PluginKind::Router => Plugin::Router(Router::from_loaded(loaded)),
            PluginKind::Compaction => Plugin::Compaction(CompactionPlugin::from_loaded(loaded)),
        })
    }

    /// Reads and loads a `.wasm` file, named after the file's stem.
    pub fn load_file(&self, path: &Path, config: &[u8]) -> Result<Plugin> {
        let name = path.file_stem().map_or_else(
            || path.display().to_string(),
            |s| s.to_string_lossy().into_owned(),
        );
        let wasm = std::fs::read(path).map_err(|source| PluginError::Io {
            plugin: name.clone(),
            path: path.to_path_buf(),
            source,
        })?;
        self.load(&name, &wasm, config)
    }

    fn load_kind(
        &self,
        name: &str,
        wasm: &[u8],
        config: &[u8],
        want: Option<PluginKind>,
    ) -> Result<Arc<Loaded>> {
        sniff(name, wasm)?;
        let digest = Digest::of(wasm);
        let compiled = self.compiled(name, wasm, digest)?;
        if let Some(want) = want
            && want != compiled.kind
        {
            return Err(PluginError::MissingExport {
                plugin: name.into(),
                export: want.entry_export().into(),
            });
        }
        let config = match (compiled.has_init, config.is_empty()) {
            (true, _) => Some(config.to_vec()),
            (false, true) => None,
            (false, false) => {
                return Err(PluginError::Init {
                    plugin: name.into(),
                    reason: format!(
                        "a {} byte configuration was given, but the plugin has no init export",
                        config.len()
                    ),
                });
            }
        };
        let loaded = Loaded::new(LoadParts {
            name: Arc::from(name),
            digest,
            kind: compiled.kind,
            limits: self.inner.limits.clone(),
            engine: self.inner.engine.clone(),
            pre: compiled.pre,
            config,
        })?;
        Ok(Arc::new(loaded))
    }

    /// The cached compilation of `digest`, or a fresh, fully checked one.
    fn compiled(&self, name: &str, wasm: &[u8], digest: Digest) -> Result<Compiled> {
        if let Some(hit) = self.inner.cache.lock().get(&digest) {
            return Ok(hit.clone());
        }
        let compiled = self.compile(name, wasm)?;
        let mut cache = self.inner.cache.lock();
        if cache.len() >= self.inner.limits.modules_cached_max
            && let Some(victim) = cache.keys().next().copied()
        {
            cache.remove(&victim);
        }
        cache.insert(digest, compiled.clone());
        Ok(compiled)
    }

    fn compile(&self, name: &str, wasm: &[u8]) -> Result<Compiled> {
        self.inner.modules_compiled.fetch_add(1, Ordering::Relaxed);
        let module =
            Module::from_binary(&self.inner.engine, wasm).map_err(|err| PluginError::Compile {
                plugin: name.into(),
                message: format!("{err:#}"),
            })?;
        validate::check_imports(name, &module)?;
        validate::check_version_export(name, &module)?;
        let pre =
            self.inner
                .linker
                .instantiate_pre(&module)
                .map_err(|err| PluginError::Compile {
                    plugin: name.into(),
                    message: format!("{err:#}"),
                })?;
        slot::probe_version(&self.inner.engine, &pre, name, &self.inner.limits)?;
        let kind = validate::detect_kind(name, &module)?;
        let has_init = validate::check_exports(name, &module, kind)?;
        Ok(Compiled {
            pre,
            kind,
            has_init,
        })
    }
}

/// Cheap checks with clear messages before handing bytes to the compiler.
fn sniff(name: &str, wasm: &[u8]) -> Result<()> {
    let not_wasm = |reason: &str| {
        Err(PluginError::NotWasm {
            plugin: name.into(),
            reason: reason.into(),
        })
    };
    if wasm.is_empty() {
        return not_wasm("the file is empty (0 bytes)");
    }
    if !wasm.starts_with(b"\0asm") {
        if wasm.trim_ascii_start().starts_with(b"(") {
            return not_wasm("this looks like WAT text; compile it to a binary .wasm first");
        }
        return not_wasm("missing the wasm magic bytes \\0asm");
    }
    if wasm.get(4..8) != Some(&[1, 0, 0, 0][..]) {
        return not_wasm("not a core wasm module version 1 (a component, or truncated)");
    }
    Ok(())
}
