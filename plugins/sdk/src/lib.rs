//! Write a DougDB plugin as one plain Rust function.
//!
//! ```ignore
//! use dougdb_plugin_sdk::router;
//!
//! #[router]
//! fn route(key: &[u8], shard_count: u32) -> u32 {
//!     dougdb_plugin_sdk::hash_route(key, shard_count)
//! }
//! ```
//!
//! Build with `cargo build --release --target wasm32-unknown-unknown` (crate type
//! `cdylib`). The macros generate every export of ABI v1 (see `docs/plugins.md`); a panic
//! becomes a trap that the host reports with the panic message.

pub use dougdb_plugin_abi::{
    CompactionTask, LevelSummary, LevelsSummary, TableId, TableSummary, decode_keys, hash_route,
    shard_for_hash, xxh64,
};
pub use dougdb_plugin_sdk_macros::{compaction_policy, router};

pub mod log;

#[doc(hidden)]
pub mod __private;
