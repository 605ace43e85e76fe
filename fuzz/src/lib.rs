//! Support for the fuzz targets of `dougdb-fuzz`.
//!
//! The server's byte codecs (replicated commands, outcomes, state-machine snapshots, Raft
//! log records and metadata) live in `dougdb-server`, which also links tonic, tokio and
//! wasmtime: far too heavy to build with coverage instrumentation in `make test`. Their
//! source files depend only on the storage engine, the Raft core and the crate's error
//! type, so this crate compiles the very same files (`#[path]` includes, not copies) next
//! to [`error`], a mirror of the few `dougdb_server::Error` variants they construct. A
//! change to one of those files that needs more of the server shows up here as a build
//! error in `scripts/fuzz-smoke.sh`: add the missing variant to `error.rs`.

pub mod error;

pub mod raft_store;
pub mod state_machine;
