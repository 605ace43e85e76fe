//! `dougdb-client`: the async Rust client of DougDB.
//!
//! ```no_run
//! # async fn demo() -> dougdb_client::Result<()> {
//! use dougdb_client::{Client, Consistency};
//! let client = Client::connect(&["127.0.0.1:7101", "127.0.0.1:7102"]).await?;
//! client.put(b"k", b"v").await?;
//! let v = client.get(b"k", Consistency::Strong).await?;
//! assert_eq!(v.as_deref(), Some(&b"v"[..]));
//! # Ok(()) }
//! ```
//!
//! - `connect` fetches the cluster map from any endpoint that answers and builds the
//!   router the map names (digest checked; the built-in hash router runs natively, see
//!   `routing`).
//! - Every call runs under a deadline (5 s by default; [`Client::with_timeout`] for one
//!   call) and retries inside it with exponential backoff and jitter: it follows
//!   NotLeader hints (caching leaders per shard), refreshes the map on WrongShard, and
//!   survives lost connections.
//! - Writes carry a `(client_id, sequence)` tag that every retry reuses, so each write is
//!   applied at most once and its answer (`delete`'s "existed", `cas`'s "succeeded") is
//!   that of its single application. A write fails with `NotLeader` or `InvalidArgument`
//!   only when it certainly was not proposed; otherwise `Timeout` / `Unavailable`.
//! - Pinned clients ([`Client::pinned`]) talk to one node and never redirect.
//!
//! The methods are those of the Python `dougdb.Client`, which wraps this crate.

mod backoff;
mod client;
mod error;
mod exec;
mod ids;
mod multi;
mod ops;
mod options;
mod pool;
mod routing;
mod scan;
mod status;
mod tags;
mod topology;

pub use client::Client;
pub use error::{Error, Result};
pub use ids::{NodeId, ShardId};
pub use multi::{BATCH_BYTES_MAX, BATCH_OPS_MAX};
pub use options::{ClientOptions, Consistency};
pub use routing::BUILTIN_HASH_ROUTER;
pub use topology::{ClusterMap, RoutingSpec, ShardMap};
