//! The closed loops: `clients` tokio tasks, each sending its next request as soon as the
//! previous one answered, for a fixed duration, over a key space of fixed-size keys.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use dougdb_bench::Recorder;
use dougdb_client::Client;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::output::Row;
use crate::target::Handle;

/// Keys are this long.
pub const KEY_BYTES: usize = 16;
/// Pairs per `put_many` while pre-loading (under the client's batch limit per shard).
const PRELOAD_CHUNK: usize = 1000;
/// `put_many` calls in flight while pre-loading.
const PRELOAD_IN_FLIGHT: usize = 4;

/// One benchmarked operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Op {
    /// `put` of a random key.
    Put,
    /// `get` of a random (pre-loaded) key, linearizable.
    GetStrong,
    /// `get` of a random (pre-loaded) key from any replica.
    GetEventual,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Put => "put",
            Op::GetStrong => "get-strong",
            Op::GetEventual => "get-eventual",
        }
    }
}

/// Key number `i`, exactly [`KEY_BYTES`] long.
pub fn key(i: u64) -> Vec<u8> {
    format!("key{i:013}").into_bytes()
}

/// Writes every key of `0..keyspace` once (so gets find them), through DougDB's
/// `put_many`.
pub async fn preload(client: &Client, keyspace: u64, value: &Arc<Vec<u8>>) -> anyhow::Result<()> {
    let chunks: Vec<std::ops::Range<u64>> = (0..keyspace)
        .step_by(PRELOAD_CHUNK)
        .map(|s| s..(s + PRELOAD_CHUNK as u64).min(keyspace))
        .collect();
    for group in chunks.chunks(PRELOAD_IN_FLIGHT) {
        let mut tasks = Vec::new();
        for range in group.iter().cloned() {
            let client = client.clone();
            let value = value.clone();
            tasks.push(tokio::spawn(async move {
                client
                    .put_many(range.map(|i| (key(i), value.as_slice())))
                    .await
            }));
        }
        for task in tasks {
            task.await?.context("pre-loading the key space")?;
        }
    }
    Ok(())
}

/// Runs `op` from `clients` concurrent closed loops for `duration`; task `i` uses
/// `handles[i % handles.len()]`.
pub async fn run(
    handles: &[Handle],
    op: Op,
    clients: usize,
    duration: Duration,
    keyspace: u64,
    value: &Arc<Vec<u8>>,
) -> anyhow::Result<Row> {
    let mut total = Recorder::new();
    let end = Instant::now() + duration;
    let mut tasks = Vec::with_capacity(clients);
    for i in 0..clients {
        let handle = handles[i % handles.len()].clone();
        let value = value.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(0x10AD + i as u64);
            let mut recorder = Recorder::new();
            let mut errors = 0u64;
            while Instant::now() < end {
                let k = key(rng.random_range(0..keyspace));
                let t0 = Instant::now();
                if handle.call(op, k, value.as_slice()).await {
                    recorder.record(t0.elapsed());
                } else {
                    errors += 1;
                }
            }
            (recorder, errors)
        }));
    }
    let mut errors = 0;
    for task in tasks {
        let (recorder, e) = task.await?;
        total.merge(&recorder);
        errors += e;
    }
    let mut m = total.finish(op.name(), &format!("{clients} cl"));
    m.note = format!("{clients} clients");
    if errors > 0 {
        m.note.push_str(&format!(", {errors} errors"));
    }
    Ok(Row {
        op,
        clients,
        errors,
        m,
    })
}
