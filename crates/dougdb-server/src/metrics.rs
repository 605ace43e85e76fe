//! Node metrics in the Prometheus text format, served over plain HTTP on
//! `--metrics-listen` (any path answers). Counters and histogram buckets are atomics
//! updated on the hot paths: no lock, no registry, no allocation per update. (A crate such
//! as prometheus-client would bring a registry and OpenMetrics encoding; these few series
//! do not need them, and the counters' atomics are shared with the Ready loop directly.)

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
    /// Latency of the Raft log's fsyncs.
    pub fsync_latency: Histogram,
    /// Raft ticks that came late and were caught up at once (the process was stopped or
    /// starved of CPU for longer than a tick).
    pub late_ticks: AtomicU64,
}

impl ShardMetrics {
    /// Records one fsync of the Raft log that took `took`.
    pub fn observe_fsync(&self, took: Duration) {
        self.fsyncs.fetch_add(1, Ordering::Relaxed);
        self.fsync_micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
        self.fsync_latency.observe(took);
    }
}

/// Upper bounds of the latency histograms' buckets, in microseconds (the last bucket,
/// `+Inf`, is implicit): 50 us to 10 s, roughly x2.5 apart.
pub const LATENCY_BUCKETS_MICROS: [u64; 16] = [
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 10_000_000,
];

/// A latency histogram with the fixed buckets of [`LATENCY_BUCKETS_MICROS`], exported as
/// a Prometheus histogram in seconds. Lock-free: one bucket increment, one sum and one
/// count per observation.
#[derive(Debug, Default)]
pub struct Histogram {
    /// Observations per bucket (not cumulative; the last is `+Inf`).
    buckets: [AtomicU64; LATENCY_BUCKETS_MICROS.len() + 1],
    /// Sum of the observations, in microseconds.
    sum_micros: AtomicU64,
    /// Number of observations.
    count: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, took: Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let i = LATENCY_BUCKETS_MICROS.partition_point(|&le| le < micros);
        if let Some(b) = self.buckets.get(i) {
            b.fetch_add(1, Ordering::Relaxed);
        }
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Number of observations so far.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Appends the `_bucket`, `_sum` and `_count` series of `name` with `labels`
    /// (`key="value"` pairs, comma-separated) to `out`.
    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0u64;
        let bounds = LATENCY_BUCKETS_MICROS
            .iter()
            .map(|&le| format!("{}", le as f64 / 1e6));
        for (bucket, le) in self.buckets.iter().zip(bounds.chain(["+Inf".to_string()])) {
            cumulative += bucket.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{le}\"}} {cumulative}");
        }
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count());
    }
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
    /// Latency distribution.
    pub latency: Histogram,
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
    /// The compaction policy, whose wasm plugin (if any) counts its failures.
    pub compaction: std::sync::OnceLock<crate::plugins::Compaction>,
}

impl Metrics {
    /// Metrics for a node hosting `shards`.
    pub fn new(shards: impl IntoIterator<Item = u64>) -> Metrics {
        Metrics {
            shards: shards.into_iter().map(|s| (s, Arc::default())).collect(),
            rpcs: Default::default(),
            compaction: std::sync::OnceLock::new(),
        }
    }

    /// Records one call of `RPC_METHODS[method]`.
    pub fn rpc(&self, method: usize, took: Duration, ok: bool) {
        if let Some(m) = self.rpcs.get(method) {
            m.calls.fetch_add(1, Ordering::Relaxed);
            m.micros
                .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
            m.latency.observe(took);
            if !ok {
                m.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let shard_series: [(&str, &str, ShardField); 8] = [
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
            ("dougdb_late_ticks_total", "counter", |m| &m.late_ticks),
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
        let name = "dougdb_rpc_latency_seconds";
        let _ = writeln!(out, "# TYPE {name} histogram");
        for (method, m) in RPC_METHODS.iter().zip(&self.rpcs) {
            m.latency
                .render(&mut out, name, &format!("method=\"{method}\""));
        }
        let name = "dougdb_fsync_seconds";
        let _ = writeln!(out, "# TYPE {name} histogram");
        for (shard, m) in &self.shards {
            m.fsync_latency
                .render(&mut out, name, &format!("shard=\"{shard}\""));
        }
        let errors = self.compaction.get().map_or(0, |c| c.failures());
        let _ = writeln!(out, "# TYPE dougdb_plugin_errors_total counter");
        let _ = writeln!(out, "dougdb_plugin_errors_total {errors}");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_count_every_observation() {
        let h = Histogram::default();
        for micros in [10, 50, 51, 900, 20_000_000] {
            h.observe(Duration::from_micros(micros));
        }
        let mut out = String::new();
        h.render(&mut out, "x", "a=\"1\"");
        let line = |le: &str| {
            out.lines()
                .find(|l| l.starts_with(&format!("x_bucket{{a=\"1\",le=\"{le}\"}}")))
                .and_then(|l| l.rsplit(' ').next())
                .map(|v| v.parse::<u64>().unwrap())
                .unwrap()
        };
        assert_eq!(line("0.00005"), 2, "{out}"); // 10 us and exactly 50 us
        assert_eq!(line("0.0001"), 3);
        assert_eq!(line("0.001"), 4);
        assert_eq!(line("10"), 4);
        assert_eq!(line("+Inf"), 5);
        assert!(out.contains("x_count{a=\"1\"} 5"), "{out}");
        assert!(out.contains("x_sum{a=\"1\"} 20.001011"), "{out}");
    }

    #[test]
    fn render_exports_rpc_and_fsync_histograms_and_plugin_errors() {
        let m = Metrics::new([0, 3]);
        m.rpc(1, Duration::from_micros(300), true);
        m.shards[&3].observe_fsync(Duration::from_micros(120));
        let out = m.render();
        assert!(out.contains("# TYPE dougdb_rpc_latency_seconds histogram"));
        assert!(
            out.contains("dougdb_rpc_latency_seconds_count{method=\"put\"} 1"),
            "{out}"
        );
        assert!(
            out.contains("dougdb_fsync_seconds_count{shard=\"3\"} 1"),
            "{out}"
        );
        assert!(
            out.contains("dougdb_fsync_seconds_count{shard=\"0\"} 0"),
            "{out}"
        );
        assert!(out.contains("dougdb_fsyncs_total{shard=\"3\"} 1"), "{out}");
        assert!(out.contains("dougdb_plugin_errors_total 0"), "{out}");
    }
}
