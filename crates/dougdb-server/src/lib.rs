//! `dougdb-server`: the DougDB node. The only crate that wires tokio, tonic, Raft, the
//! storage engine and the plugins together. For now it holds the node's foundations:
//!
//! - [`raft_store`]: a durable `dougdb_raft::LogStore` on the WAL (one per group);
//! - [`raft_wire`]: `dougdb_raft::Message` <-> `dougdb.v1.RaftMessage` translation;
//! - [`state_machine`]: the replicated command codec and its application to an LSM,
//!   with exactly-once results for tagged client writes.

pub mod error;
pub mod raft_store;
pub mod raft_wire;
pub mod state_machine;

pub use error::{Error, Result};
