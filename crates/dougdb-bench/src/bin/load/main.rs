//! `load`: closed-loop load on a 3-node DougDB cluster on loopback (fsync on, the
//! server's default), or on an already-running DougDB or etcd cluster (`--endpoints`,
//! `--target etcd`). Unless given endpoints, starts the `dougdb-server` processes (the
//! release binary next to this one, or `--server`) and waits for leaders; then
//! pre-loads the key space, and for each op (put, strong get, eventual get) and each
//! client count runs that many concurrent closed loops for `--seconds`, and prints ops/s
//! and latency percentiles (`--json PATH`: the same rows as JSON). A cluster it started
//! is stopped (SIGTERM, then SIGKILL) and its temp dir removed at the end.
//!
//! `--serve-only SECONDS` starts the cluster, prints `endpoints a,b,c` on stdout, and
//! keeps it up until SIGTERM/SIGINT or SECONDS pass (for benchmarks from other clients).
//!
//! `make bench-cluster`, or: `cargo build --release -p dougdb-server -p dougdb-bench &&
//! target/release/load --seconds 5`; `make bench-compare` for DougDB against etcd.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser;
use dougdb_bench::print_table;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::signal::unix::{SignalKind, signal};

mod cluster;
mod etcd;
mod output;
mod target;
mod workload;

use cluster::{Cluster, find_server};
use output::{Row, RunInfo, write_json};
use target::{Target, preload_all};
use workload::{KEY_BYTES, Op, run};

#[derive(Debug, Parser)]
#[command(about = "closed-loop load benchmark of a 3-node DougDB (or etcd) cluster on 127.0.0.1")]
struct Args {
    /// Seconds per (op, clients) run.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Client counts, in order.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64,256")]
    clients: Vec<usize>,
    /// Operations, in order.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "put,get-strong,get-eventual"
    )]
    ops: Vec<Op>,
    /// Keys (16 B each); all pre-loaded before the first get.
    #[arg(long, default_value_t = 100_000)]
    keyspace: u64,
    /// Value size in bytes.
    #[arg(long, default_value_t = 256)]
    value_size: usize,
    /// Shards (every node a voter of each) of the cluster `load` starts.
    #[arg(long, default_value_t = 1)]
    shards: u64,
    /// Client handles the tasks are spread over: DougDB clients (each with its own
    /// connections), or etcd connections (handle i to endpoint i % n).
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// The system under load.
    #[arg(long, value_enum, default_value_t = Target::Dougdb)]
    target: Target,
    /// Drive this running cluster (`host:port,...`) instead of starting one; required
    /// for `--target etcd`.
    #[arg(long, value_delimiter = ',')]
    endpoints: Vec<String>,
    /// Also write the rows to this file as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Start a DougDB cluster, print `endpoints a,b,c`, and serve until SIGTERM/SIGINT
    /// or this many seconds pass; no load.
    #[arg(long, value_name = "SECONDS")]
    serve_only: Option<u64>,
    /// The dougdb-server binary (default: next to this binary).
    #[arg(long)]
    server: Option<PathBuf>,
    /// Extra argument for every node's command line (repeatable), e.g.
    /// `--server-arg=--worker-threads=1`.
    #[arg(long, allow_hyphen_values = true)]
    server_arg: Vec<String>,
    /// Tokio worker threads of this load generator (default: one per CPU).
    #[arg(long)]
    worker_threads: Option<usize>,
}

const NODES: usize = 3;
/// Longest wait for every shard to elect a leader (or for etcd to answer).
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Connects, pre-loads if any op reads, and measures every (op, clients); `alive` fails
/// the run when a node `load` started has exited.
async fn bench(
    args: &Args,
    endpoints: &[String],
    alive: &mut dyn FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<Vec<Row>> {
    let max_clients = args.clients.iter().copied().max().unwrap_or(1);
    let handles = target::connect(
        args.target,
        endpoints,
        args.connections,
        max_clients,
        READY_TIMEOUT,
    )
    .await?;
    let mut rng = StdRng::seed_from_u64(0xD096);
    let value: Arc<Vec<u8>> = Arc::new((0..args.value_size).map(|_| rng.random()).collect());
    let keyspace = args.keyspace.max(1);
    if args.ops.iter().any(|op| *op != Op::Put) {
        let t0 = Instant::now();
        if preload_all(&handles, keyspace, &value).await? {
            eprintln!("pre-loaded {keyspace} keys in {:.1?}", t0.elapsed());
        } else {
            eprintln!("{keyspace} keys already loaded");
        }
    }
    let duration = Duration::from_secs(args.seconds.max(1));
    let mut rows = Vec::new();
    for op in &args.ops {
        for &clients in &args.clients {
            alive()?;
            let row = run(&handles, *op, clients.max(1), duration, keyspace, &value).await?;
            eprintln!(
                "{} {} x{clients}: {:.0} ops/s, p50 {:.0} us",
                args.target.name(),
                op.name(),
                row.m.ops_per_sec(),
                row.m.p50_us
            );
            rows.push(row);
        }
    }
    Ok(rows)
}

/// `--serve-only`: keeps a started cluster up until SIGTERM/SIGINT or `seconds` pass.
async fn serve(cluster: &mut Cluster, seconds: u64) -> anyhow::Result<()> {
    cluster.wait_ready(READY_TIMEOUT).await?;
    let mut term = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("SIGINT handler")?;
    println!("endpoints {}", cluster.addresses.join(","));
    std::io::stdout().flush()?;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        cluster.check_alive()?;
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            eprintln!("--serve-only: {seconds} s passed, stopping the cluster");
            return Ok(());
        }
        tokio::select! {
            _ = term.recv() => return Ok(()),
            _ = int.recv() => return Ok(()),
            () = tokio::time::sleep(left.min(Duration::from_secs(1))) => {}
        }
    }
}

fn report(args: &Args, endpoints: &[String], started: bool, rows: &[Row]) -> anyhow::Result<()> {
    let system = match (args.target, started) {
        (Target::Dougdb, true) => format!(
            "dougdb: {NODES} nodes started by load, {} shard(s), fsync on",
            args.shards
        ),
        (t, _) => format!("{}: running cluster at {}", t.name(), endpoints.join(",")),
    };
    println!(
        "# {system}, {} handles, key {KEY_BYTES} B, value {} B, keyspace {}, {} s per row",
        args.connections, args.value_size, args.keyspace, args.seconds
    );
    let measurements: Vec<_> = rows.iter().map(|r| r.m.clone()).collect();
    print_table(&measurements);
    if let Some(path) = &args.json {
        let info = RunInfo {
            target: args.target,
            shards: args.shards,
            connections: args.connections,
            key_bytes: KEY_BYTES,
            value_bytes: args.value_size,
            keyspace: args.keyspace,
        };
        write_json(path, &info, rows)?;
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.worker_threads {
        builder.worker_threads(n.max(1));
    }
    let rt = builder
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let start_cluster = args.serve_only.is_some() || args.endpoints.is_empty();
    if start_cluster && args.target == Target::Etcd {
        bail!("--target etcd drives a running cluster: pass --endpoints host:port,...");
    }
    if !start_cluster {
        let rows = rt.block_on(bench(&args, &args.endpoints, &mut || Ok(())))?;
        return report(&args, &args.endpoints, false, &rows);
    }
    let server = find_server(args.server.clone())?;
    let mut cluster = Cluster::start(&server, &args.server_arg, NODES, args.shards.max(1))?;
    let result = match args.serve_only {
        Some(seconds) => rt
            .block_on(serve(&mut cluster, seconds))
            .map(|()| Vec::new()),
        None => rt.block_on(async {
            cluster.wait_ready(READY_TIMEOUT).await?;
            let endpoints = cluster.addresses.clone();
            bench(&args, &endpoints, &mut || cluster.check_alive()).await
        }),
    };
    drop(rt);
    cluster.stop();
    let rows = result?;
    if args.serve_only.is_none() {
        report(&args, &cluster.addresses, true, &rows)?;
    }
    Ok(())
}
