//! What one plugin call may use. Fuel is wasmtime's deterministic CPU budget (about one
//! unit per wasm instruction), scaled with the size of the call's input.

/// Limits applied on every call (and the host's own bounds on caches and batches).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Fuel every call gets, whatever its size (allocator calls, setup).
    pub fuel_base: u64,
    /// Extra fuel per key of a route call.
    pub fuel_per_key: u64,
    /// Extra fuel per input byte (keys, summary, configuration).
    pub fuel_per_byte: u64,
    /// Extra fuel per table of a compaction summary.
    pub fuel_per_table: u64,
    /// Most linear memory one instance may have.
    pub memory_bytes_max: u64,
    /// Most native stack wasm code may use (`Config::max_wasm_stack`).
    pub stack_bytes_max: usize,
    /// Most keys in one route call.
    pub batch_keys_max: usize,
    /// Most encoded input bytes in one call.
    pub input_bytes_max: usize,
    /// Idle instances kept per loaded plugin (more are made under contention, then dropped).
    pub instances_idle_max: usize,
    /// Compiled modules kept in the host's cache (by digest).
    pub modules_cached_max: usize,
    /// Log lines a plugin may emit per call; the rest are dropped.
    pub log_lines_per_call_max: u32,
    /// Longest log line kept, in bytes.
    pub log_line_bytes_max: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            fuel_base: 1_000_000,
            fuel_per_key: 5_000,
            fuel_per_byte: 50,
            fuel_per_table: 50_000,
            memory_bytes_max: 64 << 20,
            stack_bytes_max: 512 << 10,
            batch_keys_max: 1 << 16,
            input_bytes_max: 64 << 20,
            instances_idle_max: 8,
            modules_cached_max: 64,
            log_lines_per_call_max: 16,
            log_line_bytes_max: 1024,
        }
    }
}

impl Limits {
    /// The fuel budget of a call over `items` (keys or tables, each at `per_item`) and
    /// `bytes` of input.
    pub(crate) fn fuel_for(&self, items: usize, per_item: u64, bytes: usize) -> u64 {
        self.fuel_base
            .saturating_add(per_item.saturating_mul(items as u64))
            .saturating_add(self.fuel_per_byte.saturating_mul(bytes as u64))
    }
}
