//! `load`: closed-loop load on a 3-node DougDB cluster on loopback (fsync on, the
//! server's default). Starts the `dougdb-server` processes (the release binary next to
//! this one, or `--server`), waits for leaders, pre-loads the key space, then for each
//! op (put, strong get, eventual get) and each client count runs that many concurrent
//! closed loops for `--seconds`, and prints ops/s and latency percentiles. The cluster
//! is stopped (SIGTERM, then SIGKILL) and its temp dir removed at the end.
//!
//! `make bench-cluster`, or: `cargo build --release -p dougdb-server -p dougdb-bench &&
//! target/release/load --seconds 5`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use dougdb_bench::print_table;
use dougdb_client::{Client, ClientOptions};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

mod cluster;
mod workload;

use cluster::{Cluster, find_server};
use workload::{KEY_BYTES, Op, preload, run};

#[derive(Debug, Parser)]
#[command(about = "closed-loop load benchmark of a 3-node DougDB cluster on 127.0.0.1")]
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
    /// Shards (every node a voter of each).
    #[arg(long, default_value_t = 1)]
    shards: u64,
    /// Client handles (each with its own connections) the tasks are spread over.
    #[arg(long, default_value_t = 4)]
    connections: usize,
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
/// Longest wait for every shard to elect a leader.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

async fn bench(args: &Args, cluster: &mut Cluster) -> anyhow::Result<()> {
    cluster.wait_ready(READY_TIMEOUT).await?;
    let max_clients = args.clients.iter().copied().max().unwrap_or(1);
    let mut handles = Vec::new();
    for _ in 0..args.connections.max(1) {
        let options = ClientOptions {
            write_slots: max_clients.max(64),
            ..ClientOptions::new(&cluster.addresses)
        };
        handles.push(Client::connect_with(options).await.context("connecting")?);
    }
    let mut rng = StdRng::seed_from_u64(0xD096);
    let value: Arc<Vec<u8>> = Arc::new((0..args.value_size).map(|_| rng.random()).collect());
    let keyspace = args.keyspace.max(1);
    if args.ops.iter().any(|op| *op != Op::Put) {
        let t0 = std::time::Instant::now();
        preload(&handles[0], keyspace, &value).await?;
        eprintln!("pre-loaded {keyspace} keys in {:.1?}", t0.elapsed());
    }
    let duration = Duration::from_secs(args.seconds.max(1));
    let mut rows = Vec::new();
    for op in &args.ops {
        for &clients in &args.clients {
            cluster.check_alive()?;
            let m = run(&handles, *op, clients.max(1), duration, keyspace, &value).await?;
            eprintln!(
                "{} x{clients}: {:.0} ops/s, p50 {:.0} us",
                op.name(),
                m.ops_per_sec(),
                m.p50_us
            );
            rows.push(m);
        }
    }
    println!(
        "# {NODES} nodes, {} shard(s), fsync on, key {KEY_BYTES} B, value {} B, keyspace {keyspace}, {} s per row",
        args.shards, args.value_size, args.seconds
    );
    print_table(&rows);
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let server = find_server(args.server.clone())?;
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.worker_threads {
        builder.worker_threads(n.max(1));
    }
    let rt = builder
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let mut cluster = Cluster::start(&server, &args.server_arg, NODES, args.shards.max(1))?;
    let result = rt.block_on(bench(&args, &mut cluster));
    drop(rt);
    cluster.stop();
    result
}
