//! DougDB plugin ABI v1: the contract between the wasm host (`dougdb-plugin`) and the guests
//! (`plugins/`), implemented once so the two sides cannot drift. `no_std` (with `alloc`) so
//! guests on `wasm32-unknown-unknown` use exactly the code the host uses.
//!
//! Every encoding is fixed-width little-endian; `docs/plugins.md` draws each one.

#![no_std]

extern crate alloc;

mod error;
mod hash;
mod names;
mod reader;
mod route;
mod summary;
mod task;

pub use error::DecodeError;
pub use hash::{hash_route, shard_for_hash, xxh64};
pub use names::{
    ABI_VERSION, EXPORT_ABI_VERSION, EXPORT_ALLOC, EXPORT_FREE, EXPORT_INIT, EXPORT_MEMORY,
    EXPORT_PICK, EXPORT_ROUTE, IMPORT_LOG, IMPORT_MODULE, LogLevel, pack_ptr_len, unpack_ptr_len,
};
pub use route::{KeysIter, decode_keys, decode_shards, encode_keys, encode_shards, keys_len_bytes};
pub use summary::{LevelSummary, LevelsSummary, TableSummary, decode_summary, encode_summary};
pub use task::{CompactionTask, TableId, decode_task, encode_task};
