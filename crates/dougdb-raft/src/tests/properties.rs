//! The Raft paper's safety properties, checked after every step of seeded random runs
//! (random delivery order, drops, duplicates, partitions, restarts, compaction, leader
//! transfers, reads). Each run prints its seed; `DOUGDB_SEED=<seed>` replays one run.

use std::collections::BTreeMap;

use super::network::Network;
use crate::{ConfChange, ConfChangeKind, Entry, LogIndex, NodeId, Role, SplitMix64, Term};

#[derive(Default)]
struct Checker {
    /// Election safety: the leader of each term.
    leaders: BTreeMap<Term, NodeId>,
    /// Leader append-only: the log each leader had at the previous check.
    leader_logs: BTreeMap<(NodeId, Term), Vec<Entry>>,
    /// Every entry any node ever knew committed, with the observer's term at the time
    /// (the entry was committed in that term or earlier).
    committed: BTreeMap<LogIndex, (Entry, Term)>,
}

impl Checker {
    fn check(&mut self, net: &Network, seed: u64, step: usize) {
        let ctx = format!("seed {seed} step {step}");
        let logs: BTreeMap<NodeId, Vec<Entry>> = net
            .peers
            .iter()
            .map(|(id, p)| (*id, p.node.log_entries().unwrap()))
            .collect();
        for (id, p) in &net.peers {
            let st = p.node.status();
            let log = &logs[id];
            // Committed entries: same everywhere, forever (state machine safety's root).
            for e in log.iter().filter(|e| e.index <= st.commit) {
                let prev = self
                    .committed
                    .entry(e.index)
                    .or_insert_with(|| (e.clone(), st.term));
                assert_eq!(
                    &prev.0, e,
                    "{ctx}: committed entry {} differs on {id}",
                    e.index
                );
            }
            if st.role != Role::Leader {
                continue;
            }
            // Election safety.
            let l = *self.leaders.entry(st.term).or_insert(*id);
            assert_eq!(l, *id, "{ctx}: two leaders in {}", st.term);
            // Leader append-only.
            if let Some(old) = self.leader_logs.get(&(*id, st.term)) {
                let last_old = old.last().map_or(LogIndex(0), |e| e.index);
                assert!(st.last_index >= last_old, "{ctx}: leader {id} log shrank");
                for e in old.iter().filter(|e| e.index >= st.first_index) {
                    let now = &log[(e.index.0 - st.first_index.0) as usize];
                    assert_eq!(now, e, "{ctx}: leader {id} rewrote {}", e.index);
                }
            }
            self.leader_logs.insert((*id, st.term), log.clone());
            // Leader completeness: an entry committed by term T is in every later leader's log.
            for (i, (e, _)) in self
                .committed
                .range(st.first_index..)
                .filter(|(_, (_, t))| *t < st.term)
            {
                let now = log.get((i.0 - st.first_index.0) as usize);
                assert_eq!(
                    now,
                    Some(e),
                    "{ctx}: leader {id} of {} lacks committed {i}",
                    st.term
                );
            }
        }
        // Log matching: same index and term => identical prefixes.
        let ids: Vec<&NodeId> = logs.keys().collect();
        for (k, a) in ids.iter().enumerate() {
            for b in &ids[k + 1..] {
                check_log_matching(&logs[*a], &logs[*b], &ctx);
            }
        }
        // State machine safety: applied sequences are prefixes of one another.
        let sms: Vec<&Vec<Vec<u8>>> = net.peers.values().map(|p| &p.sm).collect();
        for (k, a) in sms.iter().enumerate() {
            for b in &sms[k + 1..] {
                let n = a.len().min(b.len());
                assert_eq!(a[..n], b[..n], "{ctx}: state machines diverged");
            }
        }
    }
}

fn check_log_matching(a: &[Entry], b: &[Entry], ctx: &str) {
    let (Some(fa), Some(fb)) = (a.first(), b.first()) else {
        return;
    };
    let lo = fa.index.max(fb.index).0;
    let hi = a
        .last()
        .map_or(0, |e| e.index.0)
        .min(b.last().map_or(0, |e| e.index.0));
    let at = |log: &[Entry], first: LogIndex, i: u64| log[(i - first.0) as usize].clone();
    let mut matched = false;
    for i in (lo..=hi).rev() {
        let (ea, eb) = (at(a, fa.index, i), at(b, fb.index, i));
        if matched {
            assert_eq!(ea, eb, "{ctx}: log matching violated at {i}");
        } else if ea.term == eb.term {
            assert_eq!(ea, eb, "{ctx}: same index and term, different entry at {i}");
            matched = true;
        }
    }
}

fn seeds(default: std::ops::Range<u64>) -> Vec<u64> {
    match std::env::var("DOUGDB_SEED") {
        Ok(s) => vec![s.parse().expect("DOUGDB_SEED must be a u64")],
        Err(_) => default.collect(),
    }
}

/// Runs one schedule; returns (snapshot chunks delivered, conf changes committed).
fn run(nodes: u64, seed: u64, steps: usize) -> (usize, usize) {
    println!("property run: nodes={nodes} seed={seed} (replay: DOUGDB_SEED={seed})");
    let mut net = Network::with_config(nodes, seed, |c| {
        c.max_entries_per_msg = 4;
        c.max_inflight_msgs = 4;
    });
    let mut rng = SplitMix64::new(seed ^ 0x5eed);
    let mut checker = Checker::default();
    let pick = |rng: &mut SplitMix64| rng.range_u32(1, nodes as u32 + 1) as u64;
    let mut proposals = 0u64;
    for step in 0..steps {
        let r = rng.range_u32(0, 1000);
        match r {
            0..=449 if !net.in_flight.is_empty() => {
                let k = rng.range_u32(0, net.in_flight.len() as u32) as usize;
                let m = net.in_flight.swap_remove(k);
                match rng.range_u32(0, 100) {
                    0..=7 => {} // dropped
                    8..=12 => {
                        net.in_flight.push(m.clone()); // duplicated
                        net.deliver(m);
                    }
                    _ => net.deliver(m),
                }
            }
            0..=699 => net.tick(pick(&mut rng)),
            700..=869 => {
                let id = pick(&mut rng);
                proposals += 1;
                let _ = net
                    .node(id)
                    .propose(format!("{seed}-{proposals}").into_bytes());
                net.process_ready(NodeId(id));
            }
            870..=899 => {
                let id = pick(&mut rng);
                let _ = net.node(id).read_index(step.to_le_bytes().to_vec());
                net.process_ready(NodeId(id));
            }
            900..=929 => {
                net.heal();
                if rng.range_u32(0, 2) == 0 {
                    let id = pick(&mut rng);
                    net.isolate(id);
                }
            }
            930..=944 => net.restart(pick(&mut rng)),
            945..=949 => {
                if let Some(l) = net.leader() {
                    let x = NodeId(pick(&mut rng));
                    let conf = net.node(l).status().conf_state;
                    let kind = if conf.voters.contains(&x) {
                        if conf.voters.len() <= 2 {
                            ConfChangeKind::AddVoter // refused: already a voter
                        } else if rng.range_u32(0, 2) == 0 {
                            ConfChangeKind::RemoveNode
                        } else {
                            ConfChangeKind::AddLearner
                        }
                    } else if conf.learners.contains(&x) {
                        ConfChangeKind::AddVoter
                    } else {
                        ConfChangeKind::AddLearner
                    };
                    let cc = ConfChange {
                        kind,
                        node: x,
                        context: Vec::new(),
                    };
                    let _ = net.node(l).propose_conf_change(cc);
                    net.process_ready(NodeId(l));
                }
            }
            950..=979 => net.compact(pick(&mut rng)),
            _ => {
                let (id, to) = (pick(&mut rng), pick(&mut rng));
                let _ = net.node(id).transfer_leader(NodeId(to));
                net.process_ready(NodeId(id));
            }
        }
        checker.check(&net, seed, step);
    }
    // Liveness: once the network heals, a leader emerges and a proposal commits everywhere.
    net.heal();
    let mut committed = false;
    for _ in 0..300 {
        net.run_ticks(1);
        if let Some(l) = net.leader() {
            let idx = match net.node(l).propose(b"final".to_vec()) {
                Ok(i) => i,
                Err(_) => continue,
            };
            net.settle();
            net.run_ticks(5);
            let members = net.node(l).status().conf_state;
            let done = |p: &super::network::Peer| {
                !members.contains(p.node.id()) || p.node.status().applied >= idx
            };
            if net.peers.values().all(done) {
                committed = true;
                break;
            }
        }
    }
    checker.check(&net, seed, steps);
    if !committed {
        for p in net.peers.values() {
            println!("{:?}", p.node.status());
        }
        println!("in flight: {:?}", net.in_flight.len());
    }
    assert!(committed, "seed {seed}: no progress after healing");
    let chunks = net
        .delivered
        .iter()
        .filter(|m| matches!(m.body, crate::MessageBody::Snapshot(_)))
        .count();
    let confs = checker
        .committed
        .values()
        .filter(|(e, _)| e.kind == crate::EntryKind::ConfChange)
        .count();
    (chunks, confs)
}

fn run_many(nodes: u64, default: std::ops::Range<u64>) {
    let (mut chunks, mut confs) = (0, 0);
    let all = seeds(default);
    for &seed in &all {
        let (c, m) = run(nodes, seed, 1500);
        chunks += c;
        confs += m;
    }
    println!("snapshot chunks delivered: {chunks}, conf changes committed: {confs}");
    if all.len() > 1 {
        assert!(
            chunks > 0 && confs > 0,
            "the schedules no longer exercise snapshots/conf changes"
        );
    }
}

#[test]
fn safety_properties_hold_for_three_nodes_under_random_schedules() {
    run_many(3, 0..150);
}

#[test]
fn safety_properties_hold_for_five_nodes_under_random_schedules() {
    run_many(5, 1000..1080);
}
