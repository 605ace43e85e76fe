//! `dougdb-server`: the DougDB node. The only crate that wires tokio, tonic, Raft, the
//! storage engine and the plugins together:
//!
//! - [`node`]: a node hosting shard replicas, each a Raft group driven by its Ready loop;
//! - [`transport`]: node-to-node Raft traffic (per-peer bounded links, the Raft service,
//!   fault injection);
//! - [`service`]: the `Doug` and `Admin` gRPC services;
//! - [`cluster`]: the cluster file;
//! - [`cli`]: the `dougdb-server node|facade` command line (shared with the Python CLI);
//! - [`facade`]: the stateless facade serving `Doug` through `dougdb-client`;
//! - [`plugins`]: the routing plugin the node serves and the LSM's compaction policy;
//! - [`metrics`]: Prometheus counters and their HTTP endpoint;
//! - [`raft_store`]: a durable `dougdb_raft::LogStore` on the WAL (one per group);
//! - [`raft_wire`]: `dougdb_raft::Message` <-> `dougdb.v1.RaftMessage` translation;
//! - [`state_machine`]: the replicated command codec and its application to an LSM,
//!   with exactly-once results for tagged client writes.

pub mod cli;
pub mod cluster;
pub mod error;
pub mod facade;
pub mod metrics;
pub mod node;
pub mod plugins;
pub mod raft_store;
pub mod raft_wire;
pub mod service;
pub mod state_machine;
pub mod transport;

pub use error::{Error, Result};
