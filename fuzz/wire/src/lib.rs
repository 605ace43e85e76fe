//! Support for the fuzz targets of `dougdb-fuzz-wire`: the server's translation of wire
//! Raft messages (`raft_wire.rs`) and its command codec and write limits, compiled from
//! `dougdb-server`'s own files (`#[path]` includes, not copies) beside [`error`], a mirror
//! of the `dougdb_server::Error` variants they construct. Building `dougdb-server` itself
//! would add wasmtime and the whole node to every `make test` (see fuzz/README.md).

pub mod error;
#[path = "../../../crates/dougdb-server/src/raft_wire.rs"]
pub mod raft_wire;
pub mod service;
pub mod state_machine;
