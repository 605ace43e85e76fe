//! What each instance's `Store` carries: the memory limiter (which remembers that it said
//! no, so a failed allocation is reported as `MemoryLimit` rather than a bare trap) and the
//! log sink behind the `dougdb.log` import.

use std::sync::Arc;

use dougdb_plugin_abi::LogLevel;
use wasmtime::{Caller, Extern, ResourceLimiter};

use crate::Limits;

/// Tables a plugin may have elements in: Rust guests use one small function table.
const TABLE_ELEMENTS_MAX: usize = 100_000;

/// The per-store data.
#[derive(Debug)]
pub(crate) struct HostState {
    pub(crate) plugin: Arc<str>,
    pub(crate) limiter: MemoryLimiter,
    pub(crate) log: LogSink,
}

impl HostState {
    pub(crate) fn new(plugin: Arc<str>, limits: &Limits) -> Self {
        Self {
            plugin,
            limiter: MemoryLimiter {
                memory_bytes_max: usize::try_from(limits.memory_bytes_max).unwrap_or(usize::MAX),
                refused: false,
            },
            log: LogSink {
                lines_this_call: 0,
                lines_per_call_max: limits.log_lines_per_call_max,
                line_bytes_max: limits.log_line_bytes_max,
                last_error: None,
            },
        }
    }

    /// Forgets what the previous call did.
    pub(crate) fn begin_call(&mut self) {
        self.limiter.refused = false;
        self.log.lines_this_call = 0;
        self.log.last_error = None;
    }
}

/// Refuses memory growth past the cap and remembers that it did.
#[derive(Debug)]
pub(crate) struct MemoryLimiter {
    memory_bytes_max: usize,
    pub(crate) refused: bool,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = desired <= self.memory_bytes_max;
        self.refused |= !allowed;
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= TABLE_ELEMENTS_MAX)
    }

    fn instances(&self) -> usize {
        1
    }

    fn memories(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        4
    }
}

/// Bounded logging for guests; keeps the last error line to explain a trap or a refusal.
#[derive(Debug)]
pub(crate) struct LogSink {
    lines_this_call: u32,
    lines_per_call_max: u32,
    line_bytes_max: usize,
    pub(crate) last_error: Option<String>,
}

/// The `dougdb.log(level, ptr, len)` import. A bad pointer is ignored rather than trapping:
/// logging must never be the reason a plugin fails.
pub(crate) fn log(mut caller: Caller<'_, HostState>, level: i32, ptr: i32, len: i32) {
    let Some(Extern::Memory(memory)) = caller.get_export(dougdb_plugin_abi::EXPORT_MEMORY) else {
        return;
    };
    let (data, state) = memory.data_and_store_mut(&mut caller);
    let start = ptr as u32 as usize;
    let len = (len as u32 as usize).min(state.log.line_bytes_max);
    let Some(bytes) = start.checked_add(len).and_then(|end| data.get(start..end)) else {
        return;
    };
    let line = String::from_utf8_lossy(bytes).into_owned();
    let level = LogLevel::from_i32(level);
    let sink = &mut state.log;
    if sink.lines_this_call < sink.lines_per_call_max {
        sink.lines_this_call += 1;
        let plugin = &*state.plugin;
        match level {
            LogLevel::Error => tracing::error!(plugin, "{line}"),
            LogLevel::Warn => tracing::warn!(plugin, "{line}"),
            LogLevel::Info => tracing::info!(plugin, "{line}"),
            LogLevel::Debug => tracing::debug!(plugin, "{line}"),
        }
    }
    if level == LogLevel::Error {
        sink.last_error = Some(line);
    }
}
