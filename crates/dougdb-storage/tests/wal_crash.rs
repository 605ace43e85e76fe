//! Crash tests over FaultFs: crash before every sync point of a seeded workload (appends,
//! syncs, rolls, truncations, prefix drops), restart, reopen, and check that every record
//! acknowledged as durable is there, intact, with nothing after a gap.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns panic on failure too

mod wal_util;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Barrier};

use dougdb_storage::fs::{CrashConfig, FaultFs};
use dougdb_storage::wal::{Position, Wal, WalOptions};
use rand::Rng;
use rand::rngs::StdRng;
use wal_util::*;

fn dir() -> &'static Path {
    Path::new("/wal")
}

fn opts() -> WalOptions {
    WalOptions {
        segment_size_bytes: 2048,
        record_size_max_bytes: 4096,
    }
}

/// What the workload did, as far as it got.
#[derive(Debug, Default)]
struct Model {
    /// The log as the WAL last reported it, in order.
    log: Vec<(Position, Vec<u8>)>,
    /// `log[..durable]` must survive any crash.
    durable: usize,
    /// No record at or after this position may have been dropped.
    dropped_below: u64,
}

fn small_payload(rng: &mut StdRng, id: u64) -> Vec<u8> {
    let mut p = payload(rng, id);
    p.truncate(rng.random_range(1..600));
    p
}

/// One seeded run; stops at the first error (the simulated crash).
fn workload(fs: &FaultFs, seed: u64, model: &mut Model) {
    let mut rng = rng(seed);
    let Ok((wal, _)) = Wal::open(Arc::new(fs.clone()), dir(), opts()) else {
        return;
    };
    for id in 0..250u64 {
        let ok = match rng.random_range(0..100) {
            0..=39 => {
                let p = small_payload(&mut rng, id);
                // A failed append_durable still appended: a torn tail may keep it.
                let expected = wal.end_position();
                let result = wal.append_durable(&p);
                model.log.push((expected, p));
                result.map(|pos| {
                    assert_eq!(pos, expected);
                    model.durable = model.log.len();
                })
            }
            40..=59 => {
                let p = small_payload(&mut rng, id);
                wal.append(&p).map(|pos| model.log.push((pos, p)))
            }
            60..=69 => {
                let batch: Vec<Vec<u8>> = (0..3).map(|_| small_payload(&mut rng, id)).collect();
                let refs: Vec<&[u8]> = batch.iter().map(Vec::as_slice).collect();
                wal.append_batch(&refs)
                    .map(|ps| model.log.extend(ps.into_iter().zip(batch)))
            }
            70..=79 => wal.sync().map(|()| model.durable = model.log.len()),
            80..=87 if !model.log.is_empty() => {
                let i = rng.random_range(0..model.log.len());
                wal.wait_durable(model.log[i].0)
                    .map(|()| model.durable = model.durable.max(i + 1))
            }
            88..=94 if model.log.len() > 4 => {
                let i = model.log.len() - rng.random_range(1..5);
                let i = i.max(
                    model
                        .log
                        .partition_point(|(p, _)| *p < wal.first_position()),
                );
                match model.log.get(i) {
                    Some(&(position, _)) => {
                        // Whether or not it completes, records from i on may vanish.
                        model.durable = model.durable.min(i);
                        wal.truncate_from(position).map(|()| model.log.truncate(i))
                    }
                    None => Ok(()),
                }
            }
            95..=99 if !model.log.is_empty() => {
                let i = rng.random_range(0..model.log.len());
                model.dropped_below = model.dropped_below.max(model.log[i].0.0);
                wal.drop_before(model.log[i].0).map(|_| ())
            }
            _ => Ok(()),
        };
        if let Err(err) = ok {
            // Only the simulated crash may stop the workload.
            assert!(fs.is_crashed(), "op {id} failed without a crash: {err}");
            return;
        }
    }
}

/// Restarts the disk, reopens, and checks the recovered log against the model.
fn check(fs: &FaultFs, model: &Model, context: &str) {
    fs.restart();
    let (wal, _) = Wal::open(Arc::new(fs.clone()), dir(), opts())
        .unwrap_or_else(|e| panic!("{context}: reopen failed: {e}"));
    let got = read_all(&wal);
    // The recovered log is a contiguous run of the model: it starts at some record no
    // later than the first one that could not have been dropped...
    let start = match got.first() {
        Some((first, _)) => model
            .log
            .iter()
            .position(|(p, _)| p == first)
            .unwrap_or_else(|| panic!("{context}: recovered first record {first} is unknown")),
        // An empty log still has an end: count the model records before it.
        None => model
            .log
            .iter()
            .position(|(p, _)| *p >= wal.end_position())
            .unwrap_or(model.log.len()),
    };
    let keep_from = model
        .log
        .iter()
        .position(|(p, _)| p.0 >= model.dropped_below)
        .unwrap_or(model.log.len());
    assert!(
        start <= keep_from,
        "{context}: records after the drop point are gone"
    );
    // ...holds every durable record, intact, and nothing that was not appended.
    let end = start + got.len();
    assert!(
        end <= model.log.len(),
        "{context}: more records than appended"
    );
    assert_eq!(got, model.log[start..end], "{context}: records differ");
    assert!(
        end >= model.durable,
        "{context}: {} durable records, {end} recovered",
        model.durable
    );
    wal.append_durable(b"the log takes writes after recovery")
        .unwrap_or_else(|e| panic!("{context}: append after recovery: {e}"));
}

fn crash_at_every_sync_point(test: &str, torn: bool) {
    let seed = seed(test);
    let dry = FaultFs::new();
    workload(&dry, seed, &mut Model::default());
    let points = dry.sync_points();
    println!("{test}: {points} sync points");
    assert!(
        points > 100,
        "the workload is too small: {points} sync points"
    );
    for k in 0..=points {
        let fs = FaultFs::new();
        fs.set_crash_config(CrashConfig {
            crash_before_sync: Some(k),
            torn_tail_seed: torn.then_some(seed ^ k),
        });
        let mut model = Model::default();
        workload(&fs, seed, &mut model);
        check(&fs, &model, &format!("crash before sync point {k}"));
    }
}

#[test]
fn crash_before_every_sync_point_keeps_every_acknowledged_record() {
    crash_at_every_sync_point(
        "crash_before_every_sync_point_keeps_every_acknowledged_record",
        false,
    );
}

#[test]
fn crash_with_torn_unsynced_tails_keeps_every_acknowledged_record() {
    crash_at_every_sync_point(
        "crash_with_torn_unsynced_tails_keeps_every_acknowledged_record",
        true,
    );
}

#[test]
fn concurrent_durable_appenders_survive_a_crash_at_any_sync_point() {
    const THREADS: u64 = 4;
    const PER_THREAD: u64 = 40;
    for k in 0..60 {
        let fs = FaultFs::new();
        fs.set_crash_config(CrashConfig {
            crash_before_sync: Some(k),
            torn_tail_seed: Some(k),
        });
        let Ok((wal, _)) = Wal::open(Arc::new(fs.clone()), dir(), opts()) else {
            fs.restart();
            continue;
        };
        let wal = Arc::new(wal);
        let barrier = Arc::new(Barrier::new(THREADS as usize));
        let acked: Vec<u64> = (0..THREADS)
            .map(|t| {
                let (wal, barrier) = (Arc::clone(&wal), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    let mut acked = 0;
                    for i in 0..PER_THREAD {
                        let p = format!("{t}:{i}:{}", "x".repeat((i * 37 % 200) as usize));
                        if wal.append_durable(p.as_bytes()).is_err() {
                            break;
                        }
                        acked = i + 1;
                    }
                    acked
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect();
        drop(wal);
        fs.restart();
        let (wal, _) = Wal::open(Arc::new(fs.clone()), dir(), opts()).unwrap();
        // Each thread waited for every record before appending its next one, so its
        // recovered records are exactly its first n, with n at least what was acked.
        let mut per_thread: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        for (_, payload) in read_all(&wal) {
            let text = String::from_utf8(payload).unwrap();
            let mut parts = text.split(':');
            let t: u64 = parts.next().unwrap().parse().unwrap();
            let i: u64 = parts.next().unwrap().parse().unwrap();
            assert_eq!(parts.next().unwrap(), "x".repeat((i * 37 % 200) as usize));
            per_thread.entry(t).or_default().push(i);
        }
        for t in 0..THREADS {
            let got = per_thread.remove(&t).unwrap_or_default();
            let n = got.len() as u64;
            assert_eq!(got, (0..n).collect::<Vec<_>>(), "crash {k}: thread {t}");
            assert!(
                n >= acked[t as usize],
                "crash {k}: thread {t} lost acked records"
            );
        }
    }
}
