//! Recording latencies and printing one row per benchmark, the same way everywhere.

use std::path::Path;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// Collects per-operation latencies (nanoseconds) and the wall time of a run.
#[derive(Debug)]
pub struct Recorder {
    hist: Histogram<u64>,
    started: Instant,
    ops: u64,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    /// Starts the wall clock.
    pub fn new() -> Self {
        // 1 ns .. 100 s at 3 significant digits: enough for anything a benchmark sees.
        // Constant, valid bounds: this cannot fail.
        #[allow(clippy::expect_used)]
        let hist = Histogram::new_with_bounds(1, 100_000_000_000, 3).expect("valid bounds");
        Recorder {
            hist,
            started: Instant::now(),
            ops: 0,
        }
    }

    /// Records one operation's latency.
    pub fn record(&mut self, latency: Duration) {
        let ns = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX).max(1);
        self.hist.saturating_record(ns);
        self.ops += 1;
    }

    /// Times `f` and records it.
    pub fn time<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let t0 = Instant::now();
        let out = f();
        self.record(t0.elapsed());
        out
    }

    /// Merges another recorder's samples (for multi-threaded runs).
    pub fn merge(&mut self, other: &Recorder) {
        // Same bounds on both sides, so `add` cannot fail.
        let _ = self.hist.add(&other.hist);
        self.ops += other.ops;
    }

    /// Stops the clock and summarises.
    pub fn finish(&self, name: &str, engine: &str) -> Measurement {
        let elapsed = self.started.elapsed();
        Measurement {
            name: name.to_owned(),
            engine: engine.to_owned(),
            ops: self.ops,
            elapsed,
            p50_us: self.hist.value_at_quantile(0.50) as f64 / 1000.0,
            p99_us: self.hist.value_at_quantile(0.99) as f64 / 1000.0,
            p999_us: self.hist.value_at_quantile(0.999) as f64 / 1000.0,
            disk_bytes: None,
            peak_rss_bytes: peak_rss_bytes(),
            note: String::new(),
        }
    }
}

/// One row of a result table.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// Benchmark name (fillrandom, readrandom, ...).
    pub name: String,
    /// Engine or system measured.
    pub engine: String,
    /// Operations completed.
    pub ops: u64,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Median latency, microseconds.
    pub p50_us: f64,
    /// 99th percentile latency, microseconds.
    pub p99_us: f64,
    /// 99.9th percentile latency, microseconds.
    pub p999_us: f64,
    /// Bytes on disk after the run, when meaningful.
    pub disk_bytes: Option<u64>,
    /// Peak resident memory of this process so far.
    pub peak_rss_bytes: Option<u64>,
    /// Free-form remark (e.g. keys found).
    pub note: String,
}

impl Measurement {
    /// Operations per second over the wall time.
    pub fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Prints a fixed-width table of measurements.
pub fn print_table(rows: &[Measurement]) {
    println!(
        "{:<14} {:<9} {:>10} {:>12} {:>9} {:>9} {:>9} {:>10} {:>9}  note",
        "benchmark", "engine", "ops", "ops/s", "p50 us", "p99 us", "p999 us", "disk MB", "rss MB"
    );
    for m in rows {
        let mb = |b: Option<u64>| b.map_or("-".to_owned(), |b| format!("{:.1}", b as f64 / 1e6));
        println!(
            "{:<14} {:<9} {:>10} {:>12.0} {:>9.2} {:>9.2} {:>9.2} {:>10} {:>9}  {}",
            m.name,
            m.engine,
            m.ops,
            m.ops_per_sec(),
            m.p50_us,
            m.p99_us,
            m.p999_us,
            mb(m.disk_bytes),
            mb(m.peak_rss_bytes),
            m.note
        );
    }
}

/// Peak resident set size of this process (VmHWM), if the OS reports it.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Total size of the regular files under `dir`, recursively.
pub fn dir_size_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size_bytes(&e.path()),
            Ok(_) => e.metadata().map_or(0, |m| m.len()),
            Err(_) => 0,
        })
        .sum()
}
