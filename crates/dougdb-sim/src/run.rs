//! One whole run from a seed: faults for `fault_ticks`, then heal everything and assert
//! liveness (a leader and a committed proposal within `LIVENESS_BOUND_TICKS`), let every
//! member converge, and check the final state and the client history.

use dougdb_raft::{LogIndex, NodeId, Role};

use crate::cluster::{Cluster, SimStats};
use crate::durability::{append_final_reads, check_acknowledged_writes};
use crate::faults::SimConfig;
use crate::kv::{ClientId, Command, Key, KvOp, KvStore};
use crate::linearizability::{DEFAULT_STEP_BUDGET, Verdict, check_history};
use crate::network::NetConfig;
use crate::workload::WorkloadConfig;

/// After healing, a leader must be elected and a fresh proposal applied on it within this
/// many ticks. Election timeouts are 10-19 ticks: this allows a stale leader's
/// check-quorum step-down, followers' leader leases running out, a few split votes, and
/// the commit itself.
pub const LIVENESS_BOUND_TICKS: u64 = 150;

/// After liveness, every member must have applied the leader's commit index within this
/// many more ticks (lagging members catch up by log or snapshot).
pub const CONVERGENCE_BOUND_TICKS: u64 = 200;

/// Client id of the liveness probe.
const PROBE: ClientId = ClientId(u32::MAX);

/// What a passing run did.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// Seed.
    pub seed: u64,
    /// Steps taken.
    pub steps: u64,
    /// Ticks from heal to the probe's commit.
    pub liveness_ticks: u64,
    /// Client operations (ok, fail, info).
    pub ops: (usize, usize, usize),
    /// Highest index known committed.
    pub committed: u64,
    /// Invariant checks performed.
    pub checks: u64,
    /// Terms that had a leader.
    pub leaders: usize,
    /// Fault and recovery counters.
    pub stats: SimStats,
    /// The configuration the seed drew.
    pub config: SimConfig,
}

/// A failing run: the seed and what broke.
#[derive(Clone, Debug)]
pub struct Failure {
    /// Seed that reproduces it.
    pub seed: u64,
    /// Tick at which it was detected.
    pub tick: u64,
    /// What broke.
    pub what: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "seed {} failed at tick {}: {}\nreplay: DOUGDB_SEED={} cargo test -p dougdb-sim --test replay -- --nocapture",
            self.seed, self.tick, self.what, self.seed
        )
    }
}

/// Runs seed `seed` with its derived configuration.
pub fn run_seed(seed: u64) -> Result<RunReport, Failure> {
    run(SimConfig::from_seed(seed), WorkloadConfig::default())
}

/// Runs one configured simulation.
pub fn run(cfg: SimConfig, wl: WorkloadConfig) -> Result<RunReport, Failure> {
    let seed = cfg.seed;
    let keys = wl.keys;
    let mut c = Cluster::new(cfg, wl).map_err(|what| Failure {
        seed,
        tick: 0,
        what,
    })?;
    let res = drive(&mut c, keys);
    let tick = c.now().0;
    res.map_err(|what| Failure { seed, tick, what })
}

fn drive(c: &mut Cluster, keys: u8) -> Result<RunReport, String> {
    for _ in 0..c.cfg.fault_ticks {
        c.step(true)?;
    }
    // Heal: no more faults, every link and node back.
    c.resume_due(true)?;
    c.net.heal();
    c.net.set_config(NetConfig::calm());
    c.crash_in_ready_p = 0.0;
    if c.fault_rng.chance(0.3) {
        // A whole-group power cycle: the new leader must come out of durable state alone.
        for id in c.ids() {
            c.crash(id);
        }
    }
    for id in c.ids() {
        c.restart(id)?;
    }
    let healed_at = c.now().0;
    let (leader, probe_index) = await_liveness(c)?;
    let liveness_ticks = c.now().0 - healed_at;
    let final_kv = converge(c, leader, probe_index)?;
    // Let outstanding client operations finish or time out.
    while c.workload.has_pending() && c.now().0 < healed_at + 1000 {
        c.step(false)?;
    }
    let (ok, fail, info, _) = c.workload.history().counts();
    let report = RunReport {
        seed: c.cfg.seed,
        steps: c.steps,
        liveness_ticks,
        ops: (ok, fail, info),
        committed: c.inv.max_committed().0,
        checks: c.inv.checks,
        leaders: c.inv.leader_terms(),
        stats: c.stats,
        config: c.cfg.clone(),
    };
    let now = c.now();
    let wl = std::mem::replace(
        &mut c.workload,
        crate::workload::Workload::new(WorkloadConfig::default(), crate::rng::SimRng::new(0)),
    );
    let mut history = wl.finish(now);
    // Convergence may have moved on since, and leadership too: use the state of the node
    // that applied the most (every node applies a prefix of the same committed log).
    let final_kv = c
        .nodes
        .values()
        .filter(|n| n.is_up())
        .max_by_key(|n| n.applied)
        .map_or(final_kv, |n| n.kv.clone());
    check_acknowledged_writes(&history, &final_kv)?;
    append_final_reads(&mut history, &final_kv, keys, now.0);
    match check_history(&history, DEFAULT_STEP_BUDGET) {
        Verdict::Linearizable => Ok(report),
        Verdict::Violation(w) => Err(format!("history not linearizable: {w}")),
        Verdict::Unknown { key } => Err(format!(
            "linearizability check of {key:?} exceeded its budget ({DEFAULT_STEP_BUDGET} steps)"
        )),
    }
}

/// Steps until a leader applied a fresh proposal; returns the leader and its index.
fn await_liveness(c: &mut Cluster) -> Result<(NodeId, LogIndex), String> {
    let start = c.now().0;
    let mut proposed: Option<(NodeId, LogIndex)> = None;
    let mut request = 0;
    while c.now().0 - start <= LIVENESS_BOUND_TICKS {
        if let Some((node, index)) = proposed {
            let done = c.nodes.get(&node).is_some_and(|n| {
                n.applied >= index && n.status().is_some_and(|s| s.role == Role::Leader)
            });
            let lost = c
                .nodes
                .get(&node)
                .and_then(|n| n.status())
                .is_none_or(|s| s.role != Role::Leader);
            if done {
                return Ok((node, index));
            }
            if lost {
                proposed = None;
            }
        }
        if proposed.is_none()
            && let Some(leader) = c.leader()
        {
            request += 1;
            let cmd = Command {
                client: PROBE,
                request,
                op: KvOp::Get { key: Key(0) },
            };
            let res = c
                .nodes
                .get_mut(&leader)
                .and_then(|n| n.raft.as_mut())
                .map(|r| r.propose(cmd.encode()));
            if let Some(Ok(index)) = res {
                proposed = Some((leader, index));
            }
            c.drain_ready(leader)?;
        }
        c.step(false)?;
    }
    Err(format!(
        "liveness: no leader committed a proposal within {LIVENESS_BOUND_TICKS} ticks after heal (leader now: {:?})",
        c.leader()
    ))
}

/// Steps until every member of the leader's configuration applied `index`; checks they
/// all hold the same KV state and returns it.
fn converge(c: &mut Cluster, leader: NodeId, index: LogIndex) -> Result<KvStore, String> {
    let start = c.now().0;
    loop {
        let conf = c
            .nodes
            .get(&leader)
            .and_then(|n| n.status())
            .map(|s| s.conf_state)
            .unwrap_or_default();
        let members: Vec<NodeId> = conf
            .voters
            .iter()
            .chain(conf.learners.iter())
            .copied()
            .collect();
        let caught_up = members.iter().all(|m| {
            c.nodes
                .get(m)
                .is_some_and(|n| n.is_up() && n.applied >= index)
        });
        if caught_up {
            return same_state(c, &members, index);
        }
        if c.now().0 - start > CONVERGENCE_BOUND_TICKS {
            let lag: Vec<String> = members
                .iter()
                .filter_map(|m| c.nodes.get(m).map(|n| format!("{m}@{}", n.applied.0)))
                .collect();
            return Err(format!(
                "members did not apply {index} within {CONVERGENCE_BOUND_TICKS} ticks: {lag:?}"
            ));
        }
        c.step(false)?;
    }
}

fn same_state(c: &Cluster, members: &[NodeId], _index: LogIndex) -> Result<KvStore, String> {
    // Nodes may have applied past `index` by different amounts: compare those at the
    // highest applied index among members.
    let max = members
        .iter()
        .filter_map(|m| c.nodes.get(m))
        .map(|n| n.applied)
        .max();
    let mut state: Option<(NodeId, &KvStore)> = None;
    for m in members {
        let Some(n) = c.nodes.get(m).filter(|n| Some(n.applied) == max) else {
            continue;
        };
        match state {
            None => state = Some((*m, &n.kv)),
            Some((other, kv)) if kv != &n.kv => {
                return Err(format!(
                    "state divergence: {other} and {m} applied {max:?} but differ"
                ));
            }
            Some(_) => {}
        }
    }
    Ok(state.map(|(_, kv)| kv.clone()).unwrap_or_default())
}
