//! A loaded plugin: its compiled module (shared through the host's cache), its config, and
//! a small pool of idle instances. A call checks an instance out, and checks it back in only
//! if the call succeeded: after any failure the instance is dropped and the next call makes
//! a fresh one, so a trap can never leave corrupt guest state behind.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use wasmtime::{Engine, InstancePre};

use crate::slot::Slot;
use crate::state::HostState;
use crate::{Digest, Limits, PluginKind, Result};

/// Shared state of a `Router` or `CompactionPlugin`.
pub(crate) struct Loaded {
    pub(crate) name: Arc<str>,
    pub(crate) digest: Digest,
    pub(crate) kind: PluginKind,
    pub(crate) limits: Arc<Limits>,
    engine: Engine,
    pre: InstancePre<HostState>,
    /// `Some` when the plugin exports init: given to every fresh instance.
    config: Option<Vec<u8>>,
    idle: Mutex<Vec<Slot>>,
    last_fuel_used: AtomicU64,
    instances_made: AtomicU64,
}

impl std::fmt::Debug for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loaded")
            .field("name", &self.name)
            .field("digest", &self.digest)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Everything `Loaded::new` needs from the host.
pub(crate) struct LoadParts {
    pub(crate) name: Arc<str>,
    pub(crate) digest: Digest,
    pub(crate) kind: PluginKind,
    pub(crate) limits: Arc<Limits>,
    pub(crate) engine: Engine,
    pub(crate) pre: InstancePre<HostState>,
    pub(crate) config: Option<Vec<u8>>,
}

impl Loaded {
    /// Makes the first instance now, so version, init and instantiation errors surface at
    /// load time rather than at the first call.
    pub(crate) fn new(parts: LoadParts) -> Result<Self> {
        let loaded = Self {
            name: parts.name,
            digest: parts.digest,
            kind: parts.kind,
            limits: parts.limits,
            engine: parts.engine,
            pre: parts.pre,
            config: parts.config,
            idle: Mutex::new(Vec::new()),
            last_fuel_used: AtomicU64::new(0),
            instances_made: AtomicU64::new(0),
        };
        let first = loaded.fresh()?;
        loaded.idle.lock().push(first);
        Ok(loaded)
    }

    fn fresh(&self) -> Result<Slot> {
        self.instances_made.fetch_add(1, Ordering::Relaxed);
        Slot::new(
            &self.engine,
            &self.pre,
            &self.name,
            &self.limits,
            self.kind,
            self.config.as_deref(),
        )
    }

    /// Runs `call` on an instance with `budget` fuel; records the fuel used.
    pub(crate) fn with_slot<T>(
        &self,
        budget: u64,
        call: impl FnOnce(&mut Slot) -> Result<T>,
    ) -> Result<T> {
        let idle = self.idle.lock().pop();
        let mut slot = match idle {
            Some(slot) => slot,
            None => self.fresh()?,
        };
        slot.begin_call(budget);
        let result = call(&mut slot);
        self.last_fuel_used
            .store(slot.fuel_used(budget), Ordering::Relaxed);
        if result.is_ok() {
            let mut idle = self.idle.lock();
            if idle.len() < self.limits.instances_idle_max {
                idle.push(slot);
            }
        }
        result
    }

    pub(crate) fn last_fuel_used(&self) -> u64 {
        self.last_fuel_used.load(Ordering::Relaxed)
    }

    pub(crate) fn instances_made(&self) -> u64 {
        self.instances_made.load(Ordering::Relaxed)
    }
}
