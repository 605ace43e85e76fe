//! `raft_bench`: drives a 3-node `dougdb-raft` group with a zero-cost network (every
//! message delivered at once, no loss) and in-memory log stores, and reports entries
//! committed per second and the wall/CPU time per entry, batched (many proposals per
//! `Ready` cycle) and unbatched (one proposal per cycle).
//!
//! Usage: `raft_bench [--entries N] [--batch B] [--payload BYTES]`
//! (run it with `--release`: `cargo run --release -p dougdb-sim --bin raft_bench`).

use std::collections::VecDeque;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use dougdb_raft::{
    ConfState, Config, LogIndex, MemLogStore, Message, NodeId, RawNode, Result, Role,
};

/// Compact every node's log once this many entries were applied past its snapshot.
const COMPACT_EVERY: u64 = 8192;

struct Group {
    nodes: Vec<RawNode<MemLogStore>>,
    applied: Vec<LogIndex>,
    compacted: Vec<LogIndex>,
    inbox: VecDeque<Message>,
    /// Time spent inside `RawNode` calls (the core), including its in-memory store.
    core: Duration,
}

impl Group {
    fn new() -> Result<Group> {
        let mut nodes = Vec::new();
        for id in 1..=3u64 {
            let mut cfg = Config::new(NodeId(id));
            cfg.seed = id;
            let store = MemLogStore::with_conf_state(ConfState::with_voters(1..=3));
            nodes.push(RawNode::new(cfg, store)?);
        }
        Ok(Group {
            nodes,
            applied: vec![LogIndex(0); 3],
            compacted: vec![LogIndex(0); 3],
            inbox: VecDeque::new(),
            core: Duration::ZERO,
        })
    }

    fn timed<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        let t = Instant::now();
        let r = f(self);
        self.core += t.elapsed();
        r
    }

    /// Carries out every node's `Ready`s and delivers every message until quiet.
    fn pump(&mut self) -> Result<()> {
        loop {
            let mut any = false;
            for i in 0..self.nodes.len() {
                while self.nodes[i].has_ready() {
                    any = true;
                    let rd = self.timed(|g| -> Result<_> {
                        let rd = g.nodes[i].ready()?;
                        g.nodes[i].persist(&rd)?;
                        g.nodes[i].advance()?;
                        Ok(rd)
                    })?;
                    self.inbox.extend(rd.messages);
                    self.inbox.extend(rd.persisted_messages);
                    if let Some(e) = rd.committed_entries.last() {
                        self.applied[i] = e.index;
                    }
                    if let Some(s) = &rd.snapshot {
                        self.applied[i] = self.applied[i].max(s.metadata.index);
                    }
                }
                if self.applied[i].0 >= self.compacted[i].0 + COMPACT_EVERY {
                    let at = self.applied[i];
                    self.timed(|g| g.nodes[i].compact(at, Vec::new()))?;
                    self.compacted[i] = at;
                }
            }
            while let Some(m) = self.inbox.pop_front() {
                any = true;
                let to = (m.to.0 - 1) as usize;
                self.timed(|g| g.nodes[to].step(m))?;
            }
            if !any {
                return Ok(());
            }
        }
    }

    fn elect(&mut self) -> Result<()> {
        self.nodes[0].campaign()?;
        self.pump()?;
        assert_eq!(
            self.nodes[0].status().role,
            Role::Leader,
            "n1 must win an uncontested election"
        );
        Ok(())
    }
}

struct Row {
    mode: String,
    entries: u64,
    secs: f64,
    core_secs: f64,
}

fn run(batch: usize, entries: u64, payload: usize) -> Result<Row> {
    let mut g = Group::new()?;
    g.elect()?;
    let start_commit = g.nodes[0].status().commit;
    let data = vec![0xABu8; payload];
    let began = Instant::now();
    let mut proposed = 0u64;
    while proposed < entries {
        let n = batch.min((entries - proposed) as usize);
        g.timed(|g| -> Result<()> {
            if n == 1 {
                g.nodes[0].propose(data.clone())?;
            } else {
                g.nodes[0].propose_batch(vec![data.clone(); n])?;
            }
            Ok(())
        })?;
        proposed += n as u64;
        g.pump()?;
    }
    let secs = began.elapsed().as_secs_f64();
    let committed = g.nodes[0].status().commit.0 - start_commit.0;
    assert_eq!(
        committed, entries,
        "every proposal must commit on a perfect network"
    );
    for i in 0..3 {
        assert_eq!(
            g.applied[i],
            g.nodes[0].status().commit,
            "n{} must have applied everything",
            i + 1
        );
    }
    Ok(Row {
        mode: if batch == 1 {
            "unbatched".into()
        } else {
            format!("batched x{batch}")
        },
        entries,
        secs,
        core_secs: g.core.as_secs_f64(),
    })
}

fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let entries = arg(&args, "--entries", 200_000);
    let batch = arg(&args, "--batch", 64).max(2) as usize;
    let payload = arg(&args, "--payload", 128) as usize;
    let profile = if cfg!(debug_assertions) {
        "debug (use --release for real numbers)"
    } else {
        "release"
    };
    println!(
        "raft_bench: 3 nodes, zero-cost network, in-memory logs, {payload}-byte entries, {profile} build"
    );
    let rows = match (run(batch, entries, payload), run(1, entries / 4, payload)) {
        (Ok(a), Ok(b)) => [a, b],
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("raft_bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "{:<14} {:>10} {:>14} {:>14} {:>16}",
        "mode", "entries", "entries/s", "wall ns/entry", "core ns/entry"
    );
    for r in &rows {
        println!(
            "{:<14} {:>10} {:>14.0} {:>14.0} {:>16.0}",
            r.mode,
            r.entries,
            r.entries as f64 / r.secs,
            r.secs * 1e9 / r.entries as f64,
            r.core_secs * 1e9 / r.entries as f64
        );
    }
    println!(
        "core = time inside RawNode calls (ready/persist/advance/step/propose/compact), all 3 nodes"
    );
    ExitCode::SUCCESS
}
