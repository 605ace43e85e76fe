//! Routing benchmark: the wasm hash router against the same function in native Rust, per
//! key in batches; and module load + compile time, cold (fresh host) and cached (same
//! digest again). Prints a table.
//!
//! `cargo run --release -p dougdb-plugin --bin plugin_bench -- [--keys N] [--batch B]
//!  [--key-bytes L] [--wasm PATH]` (build the plugins first: scripts/build-plugins.sh).

use std::error::Error;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use dougdb_plugin::{Limits, PluginHost, builtin_path, hash_route};

const SHARDS: u32 = 16;
const GOAL_NS_PER_KEY: f64 = 200.0;

struct Args {
    keys: usize,
    batch: usize,
    key_bytes: usize,
    wasm: PathBuf,
}

fn parse_args() -> Result<Args, Box<dyn Error>> {
    let mut args = Args {
        keys: 2_000_000,
        batch: 256,
        key_bytes: 16,
        wasm: builtin_path("hash-router"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--keys" => args.keys = value.parse()?,
            "--batch" => args.batch = value.parse::<usize>()?.max(1),
            "--key-bytes" => args.key_bytes = value.parse()?,
            "--wasm" => args.wasm = value.into(),
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    Ok(args)
}

/// Deterministic keys like `user:00000042` padded or cut to `len` bytes.
fn make_keys(n: usize, len: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let mut k = format!("user:{i:08}").into_bytes();
            k.resize(len, b'x');
            k
        })
        .collect()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = parse_args()?;
    let wasm = std::fs::read(&args.wasm).map_err(|e| {
        format!(
            "{}: {e} (run scripts/build-plugins.sh)",
            args.wasm.display()
        )
    })?;

    // Cold: a fresh host each time, so nothing is cached.
    let cold = median(
        (0..5)
            .map(|_| {
                let host = PluginHost::new(Limits::default())?;
                let start = Instant::now();
                host.load_router("hash-router", &wasm, &[])?;
                Ok(start.elapsed())
            })
            .collect::<Result<_, dougdb_plugin::PluginError>>()?,
    );
    let host = PluginHost::new(Limits::default())?;
    let router = host.load_router("hash-router", &wasm, &[])?;
    let cached = median(
        (0..50)
            .map(|_| {
                let start = Instant::now();
                host.load_router("hash-router", &wasm, &[])?;
                Ok(start.elapsed())
            })
            .collect::<Result<_, dougdb_plugin::PluginError>>()?,
    );

    let keys = make_keys(args.keys, args.key_bytes);
    let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();

    // Warm up, and check both sides agree before timing anything.
    for batch in refs.chunks(args.batch).take(64) {
        let native: Vec<u32> = batch.iter().map(|k| hash_route(k, SHARDS)).collect();
        if router.route(batch, SHARDS)? != native {
            return Err("wasm and native hash routers disagree".into());
        }
    }

    let start = Instant::now();
    let mut fuel = 0u64;
    for batch in refs.chunks(args.batch) {
        black_box(router.route(black_box(batch), SHARDS)?);
        fuel += router.last_fuel_used();
    }
    let wasm_ns = start.elapsed().as_nanos() as f64 / refs.len() as f64;

    let start = Instant::now();
    let mut out = Vec::with_capacity(args.batch);
    for batch in refs.chunks(args.batch) {
        out.clear();
        out.extend(batch.iter().map(|k| hash_route(black_box(k), SHARDS)));
        black_box(&out);
    }
    let native_ns = start.elapsed().as_nanos() as f64 / refs.len() as f64;

    println!(
        "plugin_bench: {} ({} bytes, digest {})",
        args.wasm.display(),
        wasm.len(),
        router.digest()
    );
    println!(
        "{} keys of {} bytes, batches of {}, {SHARDS} shards",
        refs.len(),
        args.key_bytes,
        args.batch
    );
    println!();
    println!("| measure                     | value        |");
    println!("|-----------------------------|--------------|");
    println!("| wasm hash router, ns/key    | {wasm_ns:>12.1} |");
    println!("| native hash_route, ns/key   | {native_ns:>12.1} |");
    println!(
        "| wasm / native               | {:>11.1}x |",
        wasm_ns / native_ns.max(0.001)
    );
    println!(
        "| fuel per key (wasm)         | {:>12.1} |",
        fuel as f64 / refs.len() as f64
    );
    println!(
        "| load+compile cold, ms       | {:>12.2} |",
        cold.as_secs_f64() * 1e3
    );
    println!(
        "| load cached (same digest), us | {:>10.1} |",
        cached.as_secs_f64() * 1e6
    );
    println!();
    let verdict = if wasm_ns < GOAL_NS_PER_KEY {
        "met"
    } else {
        "MISSED"
    };
    println!(
        "goal < {GOAL_NS_PER_KEY} ns/key in batches of {}: {verdict}",
        args.batch
    );
    Ok(())
}
