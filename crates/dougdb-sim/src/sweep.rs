//! Running many seeds: split a seed range over a few threads (each run is single-threaded
//! and independent), stop at the first failure, and report it with its replay command.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use crate::run::{Failure, RunReport, run_seed};

/// Totals of a sweep.
#[derive(Clone, Debug, Default)]
pub struct SweepSummary {
    /// Seeds that passed.
    pub passed: u64,
    /// Failures (at most one per thread: each stops at its first).
    pub failures: Vec<Failure>,
    /// Sum of steps over passing seeds.
    pub steps: u64,
    /// Worst liveness time after heal, in ticks.
    pub max_liveness_ticks: u64,
    /// Client operations acknowledged.
    pub ops_ok: u64,
    /// Wall time in seconds.
    pub secs: f64,
}

/// Runs seeds `start..start + count` on `threads` threads; `progress` is called with the
/// number of finished seeds every `progress_every` seeds.
pub fn sweep(
    start: u64,
    count: u64,
    threads: usize,
    progress_every: u64,
    progress: &(dyn Fn(u64, &SweepSummary) + Sync),
) -> SweepSummary {
    let began = Instant::now();
    let next = AtomicU64::new(start);
    let done = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let summary = Mutex::new(SweepSummary::default());
    let end = start.saturating_add(count);
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let seed = next.fetch_add(1, Ordering::Relaxed);
                    if seed >= end {
                        break;
                    }
                    let res = run_seed(seed);
                    let mut sum = match summary.lock() {
                        Ok(g) => g,
                        Err(p) => p.into_inner(),
                    };
                    record(&mut sum, res, &stop);
                    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if progress_every > 0 && n.is_multiple_of(progress_every) {
                        progress(n, &sum);
                    }
                }
            });
        }
    });
    let mut sum = match summary.into_inner() {
        Ok(s) => s,
        Err(p) => p.into_inner(),
    };
    sum.failures.sort_by_key(|f| f.seed);
    sum.secs = began.elapsed().as_secs_f64();
    sum
}

fn record(sum: &mut SweepSummary, res: Result<RunReport, Failure>, stop: &AtomicBool) {
    match res {
        Ok(r) => {
            sum.passed += 1;
            sum.steps += r.steps;
            sum.max_liveness_ticks = sum.max_liveness_ticks.max(r.liveness_ticks);
            sum.ops_ok += r.ops.0 as u64;
        }
        Err(f) => {
            sum.failures.push(f);
            stop.store(true, Ordering::Relaxed);
        }
    }
}
