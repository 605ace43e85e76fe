//! Node metrics in the Prometheus text format, served over plain HTTP on
//! `--metrics-listen` (any path answers). Counters are atomics updated on the hot paths;
//! no registry, no allocation per update.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

/// Counters and gauges of one shard replica.
#[derive(Debug, Default)]
pub struct ShardMetrics {
    /// Client writes and membership changes proposed here.
    pub proposals: AtomicU64,
    /// Entries applied to the state machine.
    pub applied_entries: AtomicU64,
    /// fsyncs of the Raft log (one per Ready that needed one).
    pub fsyncs: AtomicU64,
    /// Total time spent waiting for them, in microseconds.
    pub fsync_micros: AtomicU64,
    /// Times this replica started an election (became candidate).
    pub elections: AtomicU64,
    /// Times the known leader changed.
    pub leader_changes: AtomicU64,
    /// Committed but not yet applied entries, as of the last Ready.
    pub apply_lag: AtomicU64,
}

/// Counters of one RPC method.
#[derive(Debug, Default)]
pub struct RpcMetrics {
    /// Calls.
    pub calls: AtomicU64,
    /// Failed calls.
    pub errors: AtomicU64,
    /// Total latency, in microseconds.
    pub micros: AtomicU64,
}

/// Picks one counter of a shard.
type ShardField = fn(&ShardMetrics) -> &AtomicU64;
/// Picks one counter of an RPC method.
type RpcField = fn(&RpcMetrics) -> &AtomicU64;

/// RPC methods with their own counters.
pub const RPC_METHODS: [&str; 7] = [
    "get",
    "put",
    "delete",
    "cas",
    "scan",
    "batch",
    "cluster_map",
];

/// All metrics of a node.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Per hosted shard.
    pub shards: BTreeMap<u64, Arc<ShardMetrics>>,
    /// Per `RPC_METHODS` entry.
    pub rpcs: [RpcMetrics; 7],
}

impl Metrics {
    /// Metrics for a node hosting `shards`.
    pub fn new(shards: impl IntoIterator<Item = u64>) -> Metrics {
        Metrics {
            shards: shards.into_iter().map(|s| (s, Arc::default())).collect(),
            rpcs: Default::default(),
        }
    }

    /// Records one call of `RPC_METHODS[method]`.
    pub fn rpc(&self, method: usize, took: Duration, ok: bool) {
        if let Some(m) = self.rpcs.get(method) {
            m.calls.fetch_add(1, Ordering::Relaxed);
            m.micros
                .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
            if !ok {
                m.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let shard_series: [(&str, &str, ShardField); 7] = [
            ("dougdb_proposals_total", "counter", |m| &m.proposals),
            ("dougdb_applied_entries_total", "counter", |m| {
                &m.applied_entries
            }),
            ("dougdb_fsyncs_total", "counter", |m| &m.fsyncs),
            ("dougdb_fsync_microseconds_total", "counter", |m| {
                &m.fsync_micros
            }),
            ("dougdb_elections_total", "counter", |m| &m.elections),
            ("dougdb_leader_changes_total", "counter", |m| {
                &m.leader_changes
            }),
            ("dougdb_apply_lag_entries", "gauge", |m| &m.apply_lag),
        ];
        for (name, kind, get) in shard_series {
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (shard, m) in &self.shards {
                let v = get(m).load(Ordering::Relaxed);
                let _ = writeln!(out, "{name}{{shard=\"{shard}\"}} {v}");
            }
        }
        let rpc_series: [(&str, RpcField); 3] = [
            ("dougdb_rpc_calls_total", |m| &m.calls),
            ("dougdb_rpc_errors_total", |m| &m.errors),
            ("dougdb_rpc_latency_microseconds_total", |m| &m.micros),
        ];
        for (name, get) in rpc_series {
            let _ = writeln!(out, "# TYPE {name} counter");
            for (method, m) in RPC_METHODS.iter().zip(&self.rpcs) {
                let v = get(m).load(Ordering::Relaxed);
                let _ = writeln!(out, "{name}{{method=\"{method}\"}} {v}");
            }
        }
        out
    }
}

/// Largest HTTP request head read before answering.
const REQUEST_HEAD_BYTES_MAX: usize = 8192;

/// Serves `metrics` on `listener` until the task is aborted.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>) {
    loop {
        let Ok((mut conn, _)) = listener.accept().await else {
            continue;
        };
        let metrics = Arc::clone(&metrics);
        tokio::spawn(async move {
            let mut buf = vec![0u8; REQUEST_HEAD_BYTES_MAX];
            let mut len = 0;
            while len < buf.len() && !buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf[len..]).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => len += n,
                }
            }
            let body = metrics.render();
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = conn.write_all(head.as_bytes()).await;
            let _ = conn.write_all(body.as_bytes()).await;
            let _ = conn.shutdown().await;
        });
    }
}
