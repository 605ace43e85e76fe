//! The names and scalar conventions of ABI v1: export and import names, the version, the
//! packing of a (pointer, length) pair into one `i64` return value, log levels.

/// The ABI version this crate implements. A guest exports it from [`EXPORT_ABI_VERSION`];
/// the host refuses any other value.
pub const ABI_VERSION: i32 = 1;

/// `memory`: the guest's linear memory (exactly one, 32-bit).
pub const EXPORT_MEMORY: &str = "memory";
/// `() -> i32`: returns [`ABI_VERSION`].
pub const EXPORT_ABI_VERSION: &str = "dougdb_abi_version";
/// `(size: i32) -> i32`: allocates `size` bytes (alignment 8), returns the pointer.
pub const EXPORT_ALLOC: &str = "dougdb_alloc";
/// `(ptr: i32, size: i32)`: frees what [`EXPORT_ALLOC`] returned, with the same size.
pub const EXPORT_FREE: &str = "dougdb_free";
/// Optional, `(ptr: i32, len: i32) -> i32`: configuration blob in, `0` = accepted.
pub const EXPORT_INIT: &str = "dougdb_init";
/// Routers: `(keys_ptr: i32, keys_len: i32, shard_count: i32) -> i64` = packed output.
pub const EXPORT_ROUTE: &str = "dougdb_route";
/// Compaction policies: `(summary_ptr: i32, summary_len: i32) -> i64` = packed output.
pub const EXPORT_PICK: &str = "dougdb_pick";

/// The only module a guest may import from.
pub const IMPORT_MODULE: &str = "dougdb";
/// `dougdb.log(level: i32, ptr: i32, len: i32)`: a UTF-8 message for the host's log.
pub const IMPORT_LOG: &str = "log";

/// Levels accepted by `dougdb.log`; anything else is logged as [`LogLevel::Info`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum LogLevel {
    /// Failures the plugin noticed.
    Error = 0,
    /// Surprises.
    Warn = 1,
    /// Normal progress.
    Info = 2,
    /// Details for debugging a plugin.
    Debug = 3,
}

impl LogLevel {
    /// The level for a raw `i32` from the guest.
    pub fn from_i32(level: i32) -> Self {
        match level {
            0 => Self::Error,
            1 => Self::Warn,
            3 => Self::Debug,
            _ => Self::Info,
        }
    }
}

/// Packs an output buffer's pointer (low 32 bits) and length (high 32 bits) into the `i64`
/// an entry point returns.
pub fn pack_ptr_len(ptr: u32, len: u32) -> i64 {
    ((u64::from(len) << 32) | u64::from(ptr)) as i64
}

/// The inverse of [`pack_ptr_len`]: `(ptr, len)`.
pub fn unpack_ptr_len(packed: i64) -> (u32, u32) {
    let bits = packed as u64;
    ((bits & 0xFFFF_FFFF) as u32, (bits >> 32) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_then_unpack_gives_back_pointer_and_length() {
        for (ptr, len) in [(0, 0), (8, 1024), (u32::MAX, u32::MAX), (0x1234_5678, 4)] {
            assert_eq!(unpack_ptr_len(pack_ptr_len(ptr, len)), (ptr, len));
        }
    }

    #[test]
    fn unknown_log_level_is_info() {
        assert_eq!(LogLevel::from_i32(42), LogLevel::Info);
        assert_eq!(LogLevel::from_i32(0), LogLevel::Error);
    }
}
