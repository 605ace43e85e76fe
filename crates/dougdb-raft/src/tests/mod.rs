//! In-crate tests: a deterministic network and scenario/property tests.

mod election;
mod membership;
mod network;
mod properties;
mod reads;
mod replication;
