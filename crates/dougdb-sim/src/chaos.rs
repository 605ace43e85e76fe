//! The fault schedule: on each faulty tick, draws from the seed decide whether to crash or
//! restart a node, cut or heal links (symmetric splits and one-way cuts), change the
//! membership (add a learner, promote it, remove a voter, possibly the leader), ask the
//! leader to hand over, or pause a node (often the leader) for a while. Refusals from Raft
//! (a change already pending, not the leader) are expected and ignored: the point is to
//! try at awkward moments.

use dougdb_raft::{ConfChange, ConfChangeKind, Error, NodeId};

use crate::cluster::Cluster;
use crate::invariants::Violation;

/// Fewest voters a membership change may leave.
const MIN_VOTERS: usize = 3;

/// Draws and applies this tick's faults.
pub fn inject(c: &mut Cluster) -> Result<(), Violation> {
    let f = c.cfg.faults.clone();
    let ids = c.ids();
    if c.fault_rng.chance(f.crash_p) {
        let up: Vec<NodeId> = ids.iter().copied().filter(|id| is_up(c, *id)).collect();
        if let Some(&victim) = c.fault_rng.pick(&up) {
            c.crash(victim);
        }
    }
    if c.fault_rng.chance(f.restart_p) {
        let down: Vec<NodeId> = ids.iter().copied().filter(|id| !is_up(c, *id)).collect();
        if let Some(&back) = c.fault_rng.pick(&down) {
            c.restart(back)?;
        }
    }
    if c.net.is_partitioned() {
        if c.fault_rng.chance(f.heal_p) {
            c.net.heal();
        }
    } else if c.fault_rng.chance(f.partition_p) {
        c.stats.partitions += 1;
        partition(c, &ids);
    }
    if c.fault_rng.chance(f.membership_p) {
        change_membership(c)?;
    }
    if c.fault_rng.chance(f.transfer_p) {
        transfer(c)?;
    }
    if c.fault_rng.chance(f.pause_p) {
        let victim = if c.fault_rng.chance(0.5) {
            c.leader()
        } else {
            c.fault_rng.pick(&ids).copied()
        };
        let e = u64::from(c.cfg.election_tick);
        let until = c.now().plus(c.fault_rng.range(e / 2, 3 * e));
        if let Some(v) = victim {
            c.pause(v, until);
        }
    }
    Ok(())
}

fn is_up(c: &Cluster, id: NodeId) -> bool {
    c.nodes.get(&id).is_some_and(|n| n.is_up())
}

fn partition(c: &mut Cluster, ids: &[NodeId]) {
    match c.fault_rng.range(0, 3) {
        0 => {
            // Symmetric split into two random sides.
            let (mut a, mut b) = (Vec::new(), Vec::new());
            for &id in ids {
                if c.fault_rng.chance(0.5) {
                    a.push(id);
                } else {
                    b.push(id);
                }
            }
            c.net.partition(&a, &b);
        }
        1 => {
            // Isolate the leader (or a random node): the classic stale-leader setup.
            let pick = c.fault_rng.pick(ids).copied();
            if let Some(victim) = c.leader().or(pick) {
                let rest: Vec<NodeId> = ids.iter().copied().filter(|i| *i != victim).collect();
                c.net.partition(&[victim], &rest);
            }
        }
        _ => {
            // One-way cuts: a few directed links stop working.
            for _ in 0..c.fault_rng.range(1, 4) {
                let from = c.fault_rng.pick(ids).copied();
                let to = c.fault_rng.pick(ids).copied();
                if let (Some(from), Some(to)) = (from, to) {
                    c.net.cut_one_way(from, to);
                }
            }
        }
    }
}

fn change_membership(c: &mut Cluster) -> Result<(), Violation> {
    let Some(leader) = c.leader() else {
        return Ok(());
    };
    let Some(st) = c.nodes.get(&leader).and_then(|n| n.status()) else {
        return Ok(());
    };
    let conf = &st.conf_state;
    let outsiders: Vec<NodeId> = c.ids().into_iter().filter(|i| !conf.contains(*i)).collect();
    let learners: Vec<NodeId> = conf.learners.iter().copied().collect();
    let voters: Vec<NodeId> = conf.voters.iter().copied().collect();
    let max_voters = c.cfg.group_size as usize + 1;
    let change = match c.fault_rng.range(0, 3) {
        0 => c
            .fault_rng
            .pick(&outsiders)
            .map(|&n| (ConfChangeKind::AddLearner, n)),
        1 if voters.len() < max_voters => {
            // Promote a learner that has caught up (a lagging one would stall commits).
            let ready: Vec<NodeId> = learners
                .iter()
                .copied()
                .filter(|l| {
                    st.progress
                        .get(l)
                        .is_some_and(|p| p.matched.0 + 5 >= st.commit.0)
                })
                .collect();
            c.fault_rng
                .pick(&ready)
                .map(|&n| (ConfChangeKind::AddVoter, n))
        }
        _ if voters.len() > MIN_VOTERS || !learners.is_empty() => {
            // Remove a voter (the leader itself a third of the time) or a learner.
            let target = if voters.len() > MIN_VOTERS && c.fault_rng.chance(0.33) {
                Some(leader)
            } else if voters.len() > MIN_VOTERS {
                c.fault_rng.pick(&voters).copied()
            } else {
                c.fault_rng.pick(&learners).copied()
            };
            target.map(|n| (ConfChangeKind::RemoveNode, n))
        }
        _ => None,
    };
    let Some((kind, node)) = change else {
        return Ok(());
    };
    let cc = ConfChange {
        kind,
        node,
        context: Vec::new(),
    };
    let res = c
        .nodes
        .get_mut(&leader)
        .and_then(|n| n.raft.as_mut())
        .map(|r| r.propose_conf_change(cc));
    match res {
        None => {}
        Some(Ok(_)) => c.stats.conf_changes += 1,
        Some(Err(e)) if tolerated(&e) => {}
        Some(Err(e)) => return Err(format!("{leader} refused a valid conf change: {e}")),
    }
    c.drain_ready(leader)
}

fn transfer(c: &mut Cluster) -> Result<(), Violation> {
    let Some(leader) = c.leader() else {
        return Ok(());
    };
    let Some(st) = c.nodes.get(&leader).and_then(|n| n.status()) else {
        return Ok(());
    };
    let voters: Vec<NodeId> = st.conf_state.voters.iter().copied().collect();
    let Some(&to) = c.fault_rng.pick(&voters) else {
        return Ok(());
    };
    let res = c
        .nodes
        .get_mut(&leader)
        .and_then(|n| n.raft.as_mut())
        .map(|r| r.transfer_leader(to));
    match res {
        None => {}
        Some(Ok(())) => c.stats.transfers += 1,
        Some(Err(e)) if tolerated(&e) => {}
        Some(Err(e)) => return Err(format!("{leader} refused transfer to voter {to}: {e}")),
    }
    c.drain_ready(leader)
}

fn tolerated(e: &Error) -> bool {
    e.is_retryable()
        || matches!(
            e,
            Error::InvalidConfChange { .. } | Error::InvalidTransferTarget { .. }
        )
}
