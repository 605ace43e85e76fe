//! One live instance of a plugin with its own `Store`: moving bytes in and out of its
//! memory through the allocator exports, and translating wasmtime failures into
//! `PluginError`s. A slot that failed is dropped by its owner, never reused.

use std::sync::Arc;

use dougdb_plugin_abi::{
    ABI_VERSION, EXPORT_ABI_VERSION, EXPORT_ALLOC, EXPORT_FREE, EXPORT_INIT, EXPORT_MEMORY,
    unpack_ptr_len,
};
use wasmtime::{Engine, Instance, InstancePre, Memory, Store, Trap, TypedFunc};

use crate::state::HostState;
use crate::{Limits, PluginError, PluginKind, Result};

/// The kind-specific entry point.
pub(crate) enum Entry {
    Route(TypedFunc<(i32, i32, i32), i64>),
    Pick(TypedFunc<(i32, i32), i64>),
}

/// A plugin instance ready for calls.
pub(crate) struct Slot {
    pub(crate) store: Store<HostState>,
    memory: Memory,
    alloc: TypedFunc<i32, i32>,
    free: TypedFunc<(i32, i32), ()>,
    pub(crate) entry: Entry,
    limits: Arc<Limits>,
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slot")
            .field("plugin", &self.store.data().plugin)
            .finish_non_exhaustive()
    }
}

/// A wasm output buffer: where it is, how long.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Buf {
    pub(crate) ptr: u32,
    pub(crate) len: u32,
}

impl Slot {
    /// Instantiates, checks the version marker's value, binds the exports (already checked
    /// by `validate`), and runs init with `config`.
    pub(crate) fn new(
        engine: &Engine,
        pre: &InstancePre<HostState>,
        plugin: &Arc<str>,
        limits: &Arc<Limits>,
        kind: PluginKind,
        config: Option<&[u8]>,
    ) -> Result<Self> {
        let budget = limits.fuel_for(0, 0, config.map_or(0, <[u8]>::len));
        let (mut store, instance) =
            instantiate_checked(engine, pre, plugin.clone(), limits, budget)?;
        let memory = instance
            .get_memory(&mut store, EXPORT_MEMORY)
            .ok_or_else(|| missing(plugin, EXPORT_MEMORY))?;
        let entry = match kind {
            PluginKind::Router => Entry::Route(bind(&mut store, &instance, kind.entry_export())?),
            PluginKind::Compaction => {
                Entry::Pick(bind(&mut store, &instance, kind.entry_export())?)
            }
        };
        let mut slot = Self {
            alloc: bind(&mut store, &instance, EXPORT_ALLOC)?,
            free: bind(&mut store, &instance, EXPORT_FREE)?,
            store,
            memory,
            entry,
            limits: limits.clone(),
        };
        if let Some(config) = config {
            let init: TypedFunc<(i32, i32), i32> = bind(&mut slot.store, &instance, EXPORT_INIT)?;
            slot.init(&init, config, budget)?;
        }
        Ok(slot)
    }

    fn init(
        &mut self,
        init: &TypedFunc<(i32, i32), i32>,
        config: &[u8],
        budget: u64,
    ) -> Result<()> {
        let input = self.write(config, budget)?;
        let code = init
            .call(&mut self.store, (input.ptr as i32, input.len as i32))
            .map_err(|err| self.fail(err, budget))?;
        self.release(input, budget)?;
        if code != 0 {
            let said = self.store.data_mut().log.last_error.take();
            return Err(PluginError::Init {
                plugin: self.plugin(),
                reason: said.unwrap_or_else(|| format!("{EXPORT_INIT} returned {code}")),
            });
        }
        Ok(())
    }

    pub(crate) fn plugin(&self) -> String {
        self.store.data().plugin.to_string()
    }

    /// Resets fuel and per-call state before a call with `budget` fuel.
    pub(crate) fn begin_call(&mut self, budget: u64) {
        self.store.data_mut().begin_call();
        set_fuel(&mut self.store, budget);
    }

    /// Fuel spent since [`Slot::begin_call`] with `budget`.
    pub(crate) fn fuel_used(&self, budget: u64) -> u64 {
        budget.saturating_sub(self.store.get_fuel().unwrap_or(0))
    }

    /// Copies `bytes` into a fresh guest buffer.
    pub(crate) fn write(&mut self, bytes: &[u8], budget: u64) -> Result<Buf> {
        let len = u32::try_from(bytes.len()).map_err(|_| self.too_big(bytes.len()))?;
        let len_i32 = i32::try_from(len).map_err(|_| self.too_big(bytes.len()))?;
        let ptr = self
            .alloc
            .call(&mut self.store, len_i32)
            .map_err(|err| self.fail(err, budget))?;
        let buf = Buf {
            ptr: ptr as u32,
            len,
        };
        let (start, end) = (buf.ptr as usize, buf.ptr as usize + bytes.len());
        let size = self.memory.data_size(&self.store);
        if end > size {
            return Err(PluginError::BadOutput {
                plugin: self.plugin(),
                reason: format!(
                    "{EXPORT_ALLOC}({len}) returned {start:#x}, past the end of memory ({size} bytes)"
                ),
            });
        }
        let dest = &mut self.memory.data_mut(&mut self.store)[start..end];
        dest.copy_from_slice(bytes);
        Ok(buf)
    }

    /// The bytes of an entry point's packed `(ptr, len)` answer, checked against memory.
    pub(crate) fn output(&self, packed: i64) -> Result<(Buf, &[u8])> {
        let (ptr, len) = unpack_ptr_len(packed);
        let data = self.memory.data(&self.store);
        let (start, end) = (ptr as usize, ptr as usize + len as usize);
        let bytes = data.get(start..end).ok_or_else(|| PluginError::BadOutput {
            plugin: self.plugin(),
            reason: format!(
                "output {start:#x}..{end:#x} is past the end of memory ({} bytes)",
                data.len()
            ),
        })?;
        Ok((Buf { ptr, len }, bytes))
    }

    /// Frees a guest buffer.
    pub(crate) fn release(&mut self, buf: Buf, budget: u64) -> Result<()> {
        self.free
            .call(&mut self.store, (buf.ptr as i32, buf.len as i32))
            .map_err(|err| self.fail(err, budget))
    }

    /// Translates a failed wasm call.
    pub(crate) fn fail(&self, err: wasmtime::Error, budget: u64) -> PluginError {
        classify(&self.store, &self.limits, err, budget)
    }

    fn too_big(&self, len: usize) -> PluginError {
        PluginError::InvalidArgument {
            plugin: self.plugin(),
            reason: format!("input of {len} bytes does not fit a wasm32 memory"),
        }
    }
}

/// Instantiates once and calls the version marker: run right after compiling, so a module
/// of another ABI version is reported as `BadAbi` before its other exports are judged.
pub(crate) fn probe_version(
    engine: &Engine,
    pre: &InstancePre<HostState>,
    plugin: &str,
    limits: &Limits,
) -> Result<()> {
    instantiate_checked(engine, pre, Arc::from(plugin), limits, limits.fuel_base).map(|_| ())
}

/// Instantiates `pre` in a fresh limited store with `budget` fuel and checks that the
/// module's version marker returns [`ABI_VERSION`].
fn instantiate_checked(
    engine: &Engine,
    pre: &InstancePre<HostState>,
    plugin: Arc<str>,
    limits: &Limits,
    budget: u64,
) -> Result<(Store<HostState>, Instance)> {
    let mut store = Store::new(engine, HostState::new(plugin.clone(), limits));
    store.limiter(|state| &mut state.limiter);
    set_fuel(&mut store, budget);
    let instance = pre
        .instantiate(&mut store)
        .map_err(|err| classify(&store, limits, err, budget))?;
    let version: TypedFunc<(), i32> = bind(&mut store, &instance, EXPORT_ABI_VERSION)?;
    let found = version
        .call(&mut store, ())
        .map_err(|err| classify(&store, limits, err, budget))?;
    if found != ABI_VERSION {
        return Err(PluginError::BadAbi {
            plugin: plugin.to_string(),
            found,
            expected: ABI_VERSION,
        });
    }
    Ok((store, instance))
}

fn set_fuel(store: &mut Store<HostState>, fuel: u64) {
    // Fails only when fuel is not enabled in the engine, which `PluginHost::new` always does.
    let _ = store.set_fuel(fuel);
}

fn missing(plugin: &str, export: &str) -> PluginError {
    PluginError::MissingExport {
        plugin: plugin.into(),
        export: export.into(),
    }
}

fn bind<P, R>(
    store: &mut Store<HostState>,
    instance: &Instance,
    name: &str,
) -> Result<TypedFunc<P, R>>
where
    P: wasmtime::WasmParams,
    R: wasmtime::WasmResults,
{
    let plugin = store.data().plugin.clone();
    instance
        .get_typed_func::<P, R>(&mut *store, name)
        .map_err(|err| PluginError::BadSignature {
            plugin: plugin.to_string(),
            item: name.into(),
            expected: "the ABI v1 signature".into(),
            found: err.to_string(),
        })
}

/// Fuel first (the budget is the cause whatever the trap site), then the memory limiter's
/// refusal, then a plain trap with the plugin's last error line (its panic message).
fn classify(
    store: &Store<HostState>,
    limits: &Limits,
    err: wasmtime::Error,
    budget: u64,
) -> PluginError {
    let state = store.data();
    let plugin = state.plugin.to_string();
    let trap = err.downcast_ref::<Trap>().copied();
    if trap == Some(Trap::OutOfFuel) {
        return PluginError::OutOfFuel {
            plugin,
            fuel: budget,
        };
    }
    if state.limiter.refused {
        return PluginError::MemoryLimit {
            plugin,
            limit_bytes: limits.memory_bytes_max,
        };
    }
    let mut message = match trap {
        Some(trap) => trap.to_string(),
        None => format!("{err:#}"),
    };
    if let Some(said) = &state.log.last_error {
        message.push_str(&format!(" (plugin said: {said})"));
    }
    PluginError::Trap { plugin, message }
}
