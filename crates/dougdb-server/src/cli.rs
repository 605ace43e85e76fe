//! The `dougdb-server` command line, kept in the library so that other front ends (the
//! Python package's `python -m dougdb node ...`) run exactly the same thing: one DougDB
//! node (`node --id N --listen ADDR --data-dir D --cluster FILE [--fault-injection]`) or
//! a facade (`facade --listen ADDR --cluster FILE`, see [`crate::facade`]). Stops
//! gracefully on SIGTERM or Ctrl-C. Start-up errors (port in use, a data dir of another
//! cluster, corrupt files) are printed with what to do and exit with status 1.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cluster::ClusterFile;
use crate::facade;
use crate::node::{NodeOptions, RunningNode, bind};
use anyhow::Context as _;
use clap::{Parser, Subcommand};
use dougdb_client::{Client, ClientOptions};

#[derive(Debug, Parser)]
#[command(name = "dougdb-server", about = "DougDB node")]
pub struct Cli {
    /// Tokio worker threads (default: one per CPU). Several nodes sharing a few cores
    /// context-switch less with fewer.
    #[arg(long, global = true)]
    worker_threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs one node of a cluster.
    Node {
        /// This node's id (as in the cluster file).
        #[arg(long)]
        id: u64,
        /// gRPC listen address, e.g. 127.0.0.1:7101.
        #[arg(long)]
        listen: String,
        /// The node's data dir (created if missing).
        #[arg(long)]
        data_dir: PathBuf,
        /// The cluster file (JSON), read at bootstrap.
        #[arg(long)]
        cluster: PathBuf,
        /// Enables the Admin partition / cut / drop controls.
        #[arg(long)]
        fault_injection: bool,
        /// Serve Prometheus metrics over HTTP on this address.
        #[arg(long)]
        metrics_listen: Option<String>,
        /// Strong reads by leader lease instead of a ReadIndex round.
        #[arg(long)]
        lease_reads: bool,
        /// Snapshot the state machine and compact the log every N applied entries.
        #[arg(long)]
        snapshot_entries: Option<u64>,
        /// ... or once this many bytes of entries were applied since the last snapshot
        /// (default 64 MiB; 0 turns the byte trigger off).
        #[arg(long)]
        snapshot_log_bytes: Option<u64>,
        /// Raft tick in milliseconds.
        #[arg(long, default_value_t = 10)]
        tick_ms: u64,
    },
    /// Runs a stateless facade serving `dougdb.v1.Doug` through the Rust client.
    Facade {
        /// gRPC listen address, e.g. 127.0.0.1:7100.
        #[arg(long)]
        listen: String,
        /// The cluster file (JSON): the nodes to fetch the cluster map from.
        #[arg(long)]
        cluster: PathBuf,
        /// Longest time one call may take (the caller's deadline, if shorter, wins).
        #[arg(long, default_value_t = 5000)]
        timeout_ms: u64,
        /// Writes in flight at once towards the cluster (one client id each).
        #[arg(long, default_value_t = 256)]
        write_slots: usize,
        /// How long to keep trying to fetch the cluster map at start-up.
        #[arg(long, default_value_t = 30)]
        startup_timeout_secs: u64,
    },
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Runs the command until it ends or is stopped by SIGTERM / Ctrl-C.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Node {
            id,
            listen,
            data_dir,
            cluster,
            fault_injection,
            metrics_listen,
            lease_reads,
            snapshot_entries,
            snapshot_log_bytes,
            tick_ms,
        } => {
            let mut opts = NodeOptions::new(id, data_dir);
            opts.fault_injection = fault_injection;
            opts.metrics_listen = metrics_listen;
            opts.lease_reads = lease_reads;
            opts.snapshot_entries = snapshot_entries;
            if let Some(bytes) = snapshot_log_bytes {
                opts.state_machine.snapshot_log_bytes = (bytes > 0).then_some(bytes);
            }
            opts.tick = Duration::from_millis(tick_ms.max(1));
            run_node(opts, &listen, &cluster).await
        }
        Command::Facade {
            listen,
            cluster,
            timeout_ms,
            write_slots,
            startup_timeout_secs,
        } => {
            let call_timeout = Duration::from_millis(timeout_ms.max(1));
            let startup = Duration::from_secs(startup_timeout_secs.max(1));
            run_facade(&listen, &cluster, call_timeout, write_slots, startup).await
        }
    }
}

async fn run_node(opts: NodeOptions, listen: &str, cluster: &Path) -> anyhow::Result<()> {
    let id = opts.id;
    let file = ClusterFile::load(cluster).context("loading the cluster file")?;
    let listener = bind(listen).await?;
    let node = RunningNode::start(opts, file, listener)
        .await
        .context("starting the node")?;
    eprintln!("dougdb node {id} serving on {}", node.local_addr());
    terminated().await;
    eprintln!("dougdb node {id}: shutting down");
    node.shutdown(Duration::from_secs(2)).await;
    Ok(())
}

/// Connects one client to the cluster's nodes (retrying for `startup`), then serves.
async fn run_facade(
    listen: &str,
    cluster: &Path,
    call_timeout: Duration,
    write_slots: usize,
    startup: Duration,
) -> anyhow::Result<()> {
    let file = ClusterFile::load(cluster).context("loading the cluster file")?;
    let listener = bind(listen).await?;
    let addr = listener
        .local_addr()
        .context("the facade's listen address")?;
    let endpoints: Vec<&str> = file.nodes.iter().map(|n| n.address.as_str()).collect();
    let mut options = ClientOptions::new(&endpoints);
    options.timeout = startup;
    options.write_slots = write_slots.max(1);
    let client = Client::connect_with(options)
        .await
        .context("fetching the cluster map from the nodes")?
        .with_timeout(call_timeout);
    eprintln!("dougdb facade serving on {addr}");
    facade::serve(facade::Facade::new(client), listener, terminated()).await?;
    eprintln!("dougdb facade: shut down");
    Ok(())
}

/// Parses `args` (the first is the program name) and runs the command on a new tokio
/// runtime; returns the process exit status (0, 1 on error, 2 on bad usage). Errors are
/// printed to stderr.
pub fn main_with_args<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    init_logging();
    fail_stop_on_panic();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = cli.worker_threads {
        builder.worker_threads(n.max(1));
    }
    let rt = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the tokio runtime: {e}");
            return 1;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}

/// Node and facade logs go to stderr: `info` and above by default, or as `RUST_LOG` says
/// (e.g. `RUST_LOG=dougdb_server=debug`). A second call (a second server in one process)
/// keeps the first subscriber.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

/// A panic anywhere (a broken invariant in a replica's task, say) ends the process after
/// printing it, instead of leaving a node whose shard task died while its RPC server still
/// answers: a process that is down is something peers, clients and operators handle; a
/// half-dead one is not. Exit status 101, as an unwinding panic of `main` would give.
fn fail_stop_on_panic() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default(info);
        eprintln!("dougdb-server: stopping the process after a panic (fail-stop)");
        std::process::exit(101);
    }));
}
