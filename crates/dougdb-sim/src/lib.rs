//! `dougdb-sim`: a deterministic simulator for DougDB Raft groups (dev only).
//!
//! One seed drives a whole run: a 3, 5 or 7 node group of `dougdb-raft` nodes on a
//! simulated network (delays, drops, duplicates, reordering, partitions), simulated disks
//! (a crash loses everything not yet made durable through the `Ready` contract), paused
//! nodes (stopped, then resumed with their clock caught up; half the seeds use lease reads), membership
//! changes and leader transfers, and a client workload against a small KV state machine.
//! After every step the Raft invariants are checked across nodes; at the end the group is
//! healed, liveness is asserted within a tick bound, and the client history is checked for
//! linearizability (with `dougdb-check`) and durability of acknowledged writes. See
//! `docs/sim.md`.

pub mod chaos;
pub mod clock;
pub mod cluster;
pub mod disk;
pub mod durability;
pub mod faults;
pub mod history;
pub mod invariants;
pub mod kv;
pub mod linearizability;
pub mod network;
pub mod node;
pub mod pause;
pub mod rng;
pub mod run;
pub mod sweep;
pub mod workload;

#[cfg(test)]
mod linearizability_tests;

pub use run::{Failure, RunReport, run, run_seed};
