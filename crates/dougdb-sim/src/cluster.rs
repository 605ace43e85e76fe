//! `Cluster`: the nodes of one group, the network between them, the virtual clock, the
//! invariant checker and the clients, advanced one tick at a time. A step delivers every
//! due message (each delivery followed by the receiver's `Ready`s), runs client requests,
//! ticks every running node, and checks the invariants.

use std::collections::BTreeMap;

use dougdb_raft::{
    ConfState, Config, Error, LogIndex, LogStore, MemLogStore, Message, NodeId, Role, Term,
};

use crate::clock::{Clock, Tick};
use crate::disk::SimDisk;
use crate::faults::SimConfig;
use crate::invariants::{Invariants, Violation};
use crate::network::Network;
use crate::node::{CrashPoint, ReadyOutput, SimNode};
use crate::rng::SimRng;
use crate::workload::{Request, Workload, WorkloadConfig};

/// Delivery rounds per step: zero-delay replies produced by a round are delivered in the
/// next one, so a whole request/response exchange can complete within one tick.
const MAX_ROUNDS_PER_STEP: usize = 8;

/// What happened during a run (for summaries and for checking the faults really fire).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Crashes, between steps or inside a `Ready`.
    pub crashes: u64,
    /// Restarts from disk.
    pub restarts: u64,
    /// Partitions started.
    pub partitions: u64,
    /// Membership changes Raft accepted.
    pub conf_changes: u64,
    /// Leader transfers Raft accepted.
    pub transfers: u64,
    /// Snapshots installed from a leader.
    pub snapshots_installed: u64,
    /// Log compactions.
    pub compactions: u64,
    /// Nodes paused (stopped, then resumed with their clock caught up).
    pub pauses: u64,
}

/// A simulated Raft group.
#[derive(Debug)]
pub struct Cluster {
    /// What the run is parameterised by.
    pub cfg: SimConfig,
    /// Every node of the pool (initial voters and spares), by id.
    pub nodes: BTreeMap<NodeId, SimNode>,
    /// The network.
    pub net: Network<Message>,
    /// Virtual time.
    pub clock: Clock,
    /// Cross-node safety checks.
    pub inv: Invariants,
    /// The clients.
    pub workload: Workload,
    /// Draws of the network.
    pub net_rng: SimRng,
    /// Draws of the fault schedule.
    pub fault_rng: SimRng,
    /// Whether crashes may strike inside a `Ready` right now.
    pub crash_in_ready_p: f64,
    /// Steps taken.
    pub steps: u64,
    /// Fault and recovery counters.
    pub stats: SimStats,
    /// Paused nodes and the messages held for them.
    pub paused: crate::pause::Paused,
}

impl Cluster {
    /// A fresh group for `cfg`: voters `1..=group_size` bootstrapped with that
    /// membership, spares after them with empty disks.
    pub fn new(cfg: SimConfig, workload: WorkloadConfig) -> Result<Cluster, Violation> {
        let mut root = SimRng::new(cfg.seed);
        let net_rng = root.fork(1);
        let fault_rng = root.fork(2);
        let wl_rng = root.fork(3);
        let voters = ConfState::with_voters(1..=cfg.group_size);
        let mut nodes = BTreeMap::new();
        for id in 1..=cfg.group_size + cfg.spares {
            let image = if id <= cfg.group_size {
                MemLogStore::with_conf_state(voters.clone())
            } else {
                MemLogStore::new()
            };
            let raft_cfg = raft_config(&cfg, NodeId(id), root.next_u64());
            let disk = SimDisk::with_image(image);
            if let Some(how) = cfg.sabotage {
                disk.sabotage(how);
            }
            let node =
                SimNode::start(raft_cfg, disk).map_err(|e| format!("starting n{id}: {e}"))?;
            nodes.insert(NodeId(id), node);
        }
        Ok(Cluster {
            net: Network::new(cfg.faults.net.clone()),
            crash_in_ready_p: cfg.faults.crash_in_ready_p,
            cfg,
            nodes,
            clock: Clock::default(),
            inv: Invariants::new(),
            workload: Workload::new(workload, wl_rng),
            net_rng,
            fault_rng,
            steps: 0,
            stats: SimStats::default(),
            paused: crate::pause::Paused::default(),
        })
    }

    /// Current virtual time.
    pub fn now(&self) -> Tick {
        self.clock.now()
    }

    /// Ids of every node in the pool.
    pub fn ids(&self) -> Vec<NodeId> {
        self.nodes.keys().copied().collect()
    }

    /// The running leader with the highest term, if any.
    pub fn leader(&self) -> Option<NodeId> {
        self.nodes
            .values()
            .filter_map(|n| n.status())
            .filter(|s| s.role == Role::Leader)
            .max_by_key(|s| s.term)
            .map(|s| s.id)
    }

    /// One tick of the whole group.
    pub fn step(&mut self, faults: bool) -> Result<(), Violation> {
        if faults {
            crate::chaos::inject(self)?;
        }
        self.resume_due(false)?;
        let now = self.now();
        let ids = self.ids();
        let running: Vec<NodeId> = ids
            .iter()
            .copied()
            .filter(|id| !self.paused.contains(*id))
            .collect();
        for (client, req) in self.workload.start_ops(now, &running) {
            self.submit(client, req)?;
        }
        self.deliver_due()?;
        for id in running {
            if let Some(raft) = self.nodes.get_mut(&id).and_then(|n| n.raft.as_mut()) {
                raft.tick().map_err(|e| format!("{id} tick: {e}"))?;
                self.drain_ready(id)?;
            }
        }
        self.deliver_due()?;
        self.workload.expire(now);
        self.steps += 1;
        self.clock.advance();
        Ok(())
    }

    fn deliver_due(&mut self) -> Result<(), Violation> {
        for _ in 0..MAX_ROUNDS_PER_STEP {
            let now = self.now();
            let mut batch = Vec::new();
            while let Some(m) = self.net.next_due(now) {
                batch.push(m);
            }
            if batch.is_empty() {
                break;
            }
            for (from, to, msg) in batch {
                if self.paused.contains(to) {
                    self.paused.hold(from, to, msg);
                    continue;
                }
                let Some(raft) = self.nodes.get_mut(&to).and_then(|n| n.raft.as_mut()) else {
                    continue;
                };
                raft.step(msg).map_err(|e| format!("{to} step: {e}"))?;
                self.drain_ready(to)?;
            }
        }
        Ok(())
    }

    fn submit(&mut self, client: crate::kv::ClientId, req: Request) -> Result<(), Violation> {
        let now = self.now();
        let (node, res) = match req {
            Request::Propose { node, cmd } => {
                let res = self
                    .nodes
                    .get_mut(&node)
                    .and_then(|n| n.raft.as_mut())
                    .map(|r| r.propose(cmd.encode()));
                (node, res.map(|r| r.map(Some)))
            }
            Request::ReadIndex { node, context, .. } => {
                let res = self
                    .nodes
                    .get_mut(&node)
                    .and_then(|n| n.raft.as_mut())
                    .map(|r| r.read_index(context).map(|()| None));
                (node, res)
            }
        };
        match res {
            None => self.workload.rejected(client, None, now),
            Some(Ok(Some(index))) => self.workload.accepted(client, index),
            Some(Ok(None)) => {}
            Some(Err(Error::NotLeader { leader_hint })) => {
                self.workload.rejected(client, leader_hint, now);
            }
            Some(Err(e)) if e.is_retryable() => self.workload.rejected(client, None, now),
            Some(Err(e)) => return Err(format!("{node} refused a client request: {e}")),
        }
        self.drain_ready(node)
    }

    /// Carries out `id`'s `Ready`s until it has none, checking invariants on each.
    pub fn drain_ready(&mut self, id: NodeId) -> Result<(), Violation> {
        // Role, term and commit only change with a `Ready`, so observing once after the
        // last one misses nothing.
        let mut worked = false;
        for _ in 0..64 {
            let crash = self.pick_crash_point(id);
            let Some(node) = self.nodes.get_mut(&id) else {
                return Ok(());
            };
            let out = node
                .handle_ready(crash)
                .map_err(|e| format!("{id} ready: {e}"))?;
            let Some(out) = out else {
                return if worked { self.observe(id) } else { Ok(()) };
            };
            worked = true;
            self.absorb(id, out)?;
            if !self.nodes.get(&id).is_some_and(SimNode::is_up) {
                return Ok(());
            }
        }
        Err(format!("{id} still has work after 64 Readys"))
    }

    fn pick_crash_point(&mut self, id: NodeId) -> Option<CrashPoint> {
        if self.crash_in_ready_p <= 0.0 || !self.fault_rng.chance(self.crash_in_ready_p) {
            return None;
        }
        let unsynced = self.nodes.get(&id).map_or(0, |n| n.disk.unsynced_records());
        Some(match self.fault_rng.range(0, 4) {
            0 => CrashPoint::BeforeSync,
            1 => CrashPoint::TornSync(self.fault_rng.index(unsynced + 3)),
            2 => CrashPoint::AfterSync,
            _ => CrashPoint::BeforeAdvance,
        })
    }

    fn absorb(&mut self, id: NodeId, out: ReadyOutput) -> Result<(), Violation> {
        let now = self.now();
        for m in out.sent {
            let (from, to) = (m.from, m.to);
            self.net.send(now, from, to, m, &mut self.net_rng);
        }
        let Some(node) = self.nodes.get(&id) else {
            return Ok(());
        };
        if !out.appended.is_empty() {
            let disk = &node.disk;
            self.inv
                .on_append(id, &out.appended, |i| disk.with_working(|s| s.term(i).ok()))?;
        }
        let durable_hs = node.disk.with_durable(|d| d.hard_state().ok());
        if let Some(hs) = durable_hs {
            self.inv.on_durable_hard_state(id, &hs)?;
        }
        if let Some(index) = out.snapshot_installed {
            self.stats.snapshots_installed += 1;
            self.inv.on_snapshot_applied(id, index);
        }
        for a in &out.applied {
            self.inv.on_apply(id, &a.entry)?;
            if !out.crashed {
                self.workload
                    .applied(id, a.entry.index, a.cmd.as_ref(), a.output, now);
            }
        }
        if out.crashed {
            self.stats.crashes += 1;
            self.on_crash(id);
            return Ok(());
        }
        for rs in &out.read_states {
            self.workload.read_state(id, &rs.context, rs.index);
        }
        let node = self.nodes.get_mut(&id);
        if let Some(node) = node {
            self.workload.serve_reads(id, node.applied, &node.kv, now);
            if node
                .maybe_compact(self.cfg.compact_threshold)
                .map_err(|e| format!("{id} compact: {e}"))?
            {
                self.stats.compactions += 1;
            }
        }
        Ok(())
    }

    /// Checks the cross-node invariants against `id`'s current state.
    pub fn observe(&mut self, id: NodeId) -> Result<(), Violation> {
        let Some(node) = self.nodes.get(&id) else {
            return Ok(());
        };
        let Some(raft) = node.raft.as_ref() else {
            return Ok(());
        };
        let st = raft.status();
        let nodes = &self.nodes;
        self.inv.observe(
            &st,
            |i| raft.log_term(i).ok().flatten(),
            |n, i, t| durable_holds(nodes, n, i, t),
        )
    }

    /// Bookkeeping after `id` crashed (already done to the node itself).
    pub fn on_crash(&mut self, id: NodeId) {
        let now = self.now();
        self.workload.node_crashed(id, now);
    }

    /// Crashes `id` now (between steps).
    pub fn crash(&mut self, id: NodeId) {
        self.paused.forget(id);
        if let Some(n) = self.nodes.get_mut(&id)
            && n.is_up()
        {
            n.crash();
            self.stats.crashes += 1;
            self.on_crash(id);
        }
    }

    /// Restarts `id` from its durable state.
    pub fn restart(&mut self, id: NodeId) -> Result<(), Violation> {
        let Some(n) = self.nodes.get_mut(&id) else {
            return Ok(());
        };
        if n.is_up() {
            return Ok(());
        }
        n.restart().map_err(|e| format!("{id} restart: {e}"))?;
        let applied = n.applied;
        self.stats.restarts += 1;
        self.inv.restarted(id, applied);
        self.drain_ready(id)
    }
}

/// Whether node `n`'s durable image holds entry `(i, t)` or a snapshot covering `i`.
fn durable_holds(nodes: &BTreeMap<NodeId, SimNode>, n: NodeId, i: LogIndex, t: Term) -> bool {
    nodes.get(&n).is_some_and(|node| {
        node.disk
            .with_durable(|d| d.snapshot().metadata.index >= i || d.term(i).ok() == Some(t))
    })
}

fn raft_config(cfg: &SimConfig, id: NodeId, seed: u64) -> Config {
    let mut c = Config::new(id);
    c.election_tick = cfg.election_tick;
    c.heartbeat_tick = cfg.heartbeat_tick;
    c.max_size_per_msg_bytes = cfg.max_size_per_msg_bytes;
    c.max_entries_per_msg = cfg.max_entries_per_msg;
    c.max_inflight_msgs = cfg.max_inflight_msgs;
    c.max_inflight_bytes = cfg.max_size_per_msg_bytes.max(1 << 20);
    c.seed = seed;
    if cfg.lease_reads {
        c.read_only_option = dougdb_raft::ReadOnlyOption::LeaseBased;
    }
    c
}
