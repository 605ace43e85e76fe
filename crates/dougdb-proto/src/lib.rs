//! `dougdb-proto`: the gRPC protocol of DougDB, generated at build time from
//! `proto/dougdb/v1/{kv,raft,admin}.proto` (see `build.rs`: protox + tonic-prost-build,
//! no `protoc`). No generated code is checked in.
//!
//! - [`v1`]: messages, plus clients and servers of `dougdb.v1.Doug`, `dougdb.v1.Raft`
//!   and `dougdb.v1.Admin` (`v1::doug_client::DougClient`, `v1::doug_server::{Doug,
//!   DougServer}`, and likewise `raft_*`, `admin_*`). Bytes fields are `bytes::Bytes`.
//! - [`error_detail`]: how a typed [`v1::ErrorDetail`] travels in a `tonic::Status`.
//! - [`FILE_DESCRIPTOR_SET`]: the encoded descriptors (for gRPC reflection).

pub mod error;
pub mod error_detail;

pub use error::Error;

/// Generated code of package `dougdb.v1`.
#[allow(
    missing_docs,
    missing_debug_implementations,
    clippy::all,
    clippy::pedantic,
    clippy::unwrap_used,
    clippy::expect_used
)]
pub mod v1 {
    tonic::include_proto!("dougdb.v1");
}

/// The protobuf `FileDescriptorSet` of `dougdb.v1`, encoded.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/dougdb_v1_descriptor.bin"));
