//! Replication rules: fast backtracking, inflight and batching limits, Figure 8, the
//! Ready routing of leader vs follower messages.

use super::election::drain;
use super::network::{Network, cfg};
use crate::{
    AppendResponse, ConfState, Entry, EntryKind, HardState, LogIndex, LogStore, MemLogStore,
    Message, MessageBody, NodeId, Role, Term,
};

fn ents(lo: u64, hi: u64, term: u64) -> Vec<Entry> {
    (lo..=hi)
        .map(|i| Entry {
            term: Term(term),
            index: LogIndex(i),
            kind: EntryKind::Normal,
            data: vec![i as u8],
        })
        .collect()
}

fn store(voters: u64, log: &[(u64, u64, u64)], term: u64, commit: u64) -> MemLogStore {
    let mut s = MemLogStore::with_conf_state(ConfState::with_voters(1..=voters));
    for &(lo, hi, t) in log {
        s.append(&ents(lo, hi, t)).unwrap();
    }
    s.set_hard_state(&HardState {
        term: Term(term),
        vote: None,
        commit: LogIndex(commit),
    })
    .unwrap();
    s
}

fn net_of(stores: Vec<MemLogStore>, tweak: impl Fn(&mut crate::Config)) -> Network {
    let mut net = Network::new(0, 1);
    for (k, s) in stores.into_iter().enumerate() {
        let mut c = cfg(k as u64 + 1, 1);
        tweak(&mut c);
        net.add_peer(c, s);
    }
    net
}

fn rejections(net: &Network, from: u64) -> usize {
    net.delivered
        .iter()
        .filter(|m| {
            m.from == NodeId(from)
                && matches!(
                    m.body,
                    MessageBody::AppendResponse(AppendResponse::Reject { .. })
                )
        })
        .count()
}

#[test]
fn fast_backtracking_skips_a_whole_divergent_term_per_round_trip() {
    let leader_log = [(1, 50, 1), (51, 100, 3)];
    let stores = vec![
        store(3, &leader_log, 3, 50),
        store(3, &[(1, 50, 1), (51, 100, 2)], 3, 50),
        store(3, &leader_log, 3, 50),
    ];
    let mut net = net_of(stores, |_| {});
    net.elect(1);
    net.run_ticks(3);
    assert!(
        rejections(&net, 2) <= 2,
        "{} rejections for 50 divergent entries",
        rejections(&net, 2)
    );
    assert_eq!(
        net.node(2).log_entries().unwrap(),
        net.node(1).log_entries().unwrap()
    );
}

#[test]
fn inflight_window_is_limited_by_message_count() {
    let mut net = Network::with_config(3, 2, |c| {
        c.max_inflight_msgs = 2;
        c.max_entries_per_msg = 1;
    });
    net.elect(1);
    net.cut.insert((NodeId(2), NodeId(1))); // acks from 2 are lost
    for i in 0..10u8 {
        net.node(1).propose(vec![i]).unwrap();
    }
    net.process_all();
    let to2 = net
        .in_flight
        .iter()
        .filter(|m| {
            m.to == NodeId(2) && matches!(&m.body, MessageBody::Append(a) if !a.entries.is_empty())
        })
        .count();
    assert_eq!(to2, 2);
    assert_eq!(net.node(1).status().progress[&NodeId(2)].inflight_msgs, 2);
    net.heal();
    net.settle();
    net.run_ticks(5);
    assert_eq!(net.node(2).status().commit, net.node(1).status().commit);
}

#[test]
fn inflight_window_is_limited_by_bytes() {
    let mut net = Network::with_config(3, 2, |c| {
        c.max_size_per_msg_bytes = 100;
        c.max_inflight_bytes = 200;
    });
    net.elect(1);
    net.cut.insert((NodeId(2), NodeId(1)));
    for _ in 0..10 {
        net.node(1).propose(vec![7; 90]).unwrap(); // 114 bytes counted each
    }
    net.process_all();
    let st = net.node(1).status().progress[&NodeId(2)].clone();
    assert_eq!(
        st.inflight_msgs, 2,
        "two 114-byte messages fill a 200-byte window"
    );
    assert!(st.inflight_bytes >= 200);
}

#[test]
fn appends_are_batched_within_count_and_byte_limits() {
    let mut net = Network::with_config(3, 4, |c| {
        c.max_entries_per_msg = 3;
        c.max_size_per_msg_bytes = 200;
    });
    net.elect(1);
    net.isolate(3);
    for i in 0..9u8 {
        net.node(1).propose(vec![i; 10]).unwrap();
    }
    net.node(1)
        .propose_batch(vec![vec![1; 120], vec![2; 120]])
        .unwrap();
    net.settle();
    net.heal();
    net.delivered.clear();
    net.run_ticks(10);
    let appends: Vec<&Vec<Entry>> = net
        .delivered
        .iter()
        .filter(|m| m.to == NodeId(3))
        .filter_map(|m| match &m.body {
            MessageBody::Append(a) if !a.entries.is_empty() => Some(&a.entries),
            _ => None,
        })
        .collect();
    assert!(appends.iter().all(|e| e.len() <= 3), "count limit");
    assert!(appends.iter().any(|e| e.len() == 3), "batching happened");
    for e in &appends {
        let bytes: u64 = e.iter().map(Entry::size_bytes).sum();
        assert!(e.len() == 1 || bytes <= 200, "byte limit: {bytes}");
    }
    assert_eq!(net.node(3).status().commit, net.node(1).status().commit);
}

#[test]
fn leader_appends_go_out_immediately_and_follower_acks_wait_for_persistence() {
    let mut net = Network::new(3, 9);
    net.elect(1);
    net.node(1).propose(b"x".to_vec()).unwrap();
    let rd = net.node(1).ready().unwrap();
    assert!(
        rd.messages
            .iter()
            .any(|m| matches!(m.body, MessageBody::Append(_)))
    );
    assert!(rd.persisted_messages.is_empty());
    assert!(rd.committed_entries.is_empty());
    let append = rd
        .messages
        .iter()
        .find(|m| m.to == NodeId(2))
        .unwrap()
        .clone();
    net.node(1).persist(&rd).unwrap();
    net.node(1).advance().unwrap();
    let n2 = net.node(2);
    n2.step(append).unwrap();
    let (now, later) = drain(n2);
    assert!(now.is_empty());
    assert!(matches!(
        later[0].body,
        MessageBody::AppendResponse(AppendResponse::Success { .. })
    ));
}

/// Figure 8 of the Raft paper: an entry of an earlier term stored on a majority is not
/// committed by counting; a later leader may overwrite it, and that is safe.
#[test]
fn figure_8_old_term_entry_on_a_majority_is_not_committed() {
    let no_lease = |c: &mut crate::Config| {
        c.pre_vote = false;
        c.check_quorum = false;
        c.max_entries_per_msg = 1;
    };
    let stores = vec![
        store(5, &[(1, 1, 1), (2, 2, 2)], 3, 1), // S1: term-2 entry at 2
        store(5, &[(1, 1, 1)], 3, 1),            // S2
        store(5, &[(1, 1, 1)], 3, 1),            // S3
        store(5, &[(1, 1, 1)], 3, 1),            // S4
        store(5, &[(1, 1, 1), (2, 2, 3)], 3, 1), // S5: term-3 entry at 2
    ];
    let mut net = net_of(stores, no_lease);
    // (c) S1 leads term 4 and gets index 2 onto S3, but its no-op (index 3) reaches nobody.
    net.cut
        .extend([(NodeId(1), NodeId(4)), (NodeId(1), NodeId(5))]);
    net.node(1).campaign().unwrap();
    net.process_all();
    let mut guard = 0;
    while !net.in_flight.is_empty() && guard < 1000 {
        guard += 1;
        let m = net.in_flight.remove(0);
        // Appends carrying the no-op are lost whenever the receiver would accept them.
        let carries_noop =
            matches!(&m.body, MessageBody::Append(a) if a.entries.iter().any(|e| e.index.0 >= 3));
        let would_accept = net.node(m.to.0).log_term(LogIndex(2)).unwrap() == Some(Term(2));
        if !(carries_noop && would_accept) {
            net.deliver(m);
        }
    }
    let st = net.node(1).status();
    assert_eq!((st.role, st.term), (Role::Leader, Term(4)));
    assert_eq!(
        st.progress[&NodeId(2)].matched,
        LogIndex(2),
        "index 2 is on S1, S2, S3"
    );
    assert_eq!(
        st.progress[&NodeId(3)].matched,
        LogIndex(2),
        "index 2 is on S1, S2, S3"
    );
    assert_eq!(
        st.commit,
        LogIndex(1),
        "but it is of term 2: not committed by counting"
    );
    // (d) S1 crashes; S5 (last term 3) wins term 5 and overwrites index 2 everywhere.
    net.isolate(1);
    net.node(5).campaign().unwrap(); // term 4: S2/S3 already voted for S1
    net.settle();
    if net.node(5).status().role != Role::Leader {
        net.node(5).campaign().unwrap();
        net.settle();
    }
    assert_eq!(net.node(5).status().role, Role::Leader);
    net.run_ticks(3);
    for id in 2..=5 {
        assert_eq!(
            net.node(id).log_term(LogIndex(2)).unwrap(),
            Some(Term(3)),
            "S{id}"
        );
        assert!(net.node(id).status().commit >= LogIndex(3));
    }
    net.heal();
    net.run_ticks(5);
    assert_eq!(net.node(1).log_term(LogIndex(2)).unwrap(), Some(Term(3)));
}

#[test]
fn a_stale_leader_learns_the_new_term_from_a_rejection() {
    let mut net = Network::new(3, 21);
    net.elect(1);
    net.isolate(1);
    net.run_ticks(40);
    let new_leader = net.leader().unwrap();
    assert_ne!(new_leader, 1);
    let msg = Message {
        from: NodeId(1),
        to: NodeId(new_leader),
        term: net.node(1).status().term,
        body: MessageBody::Heartbeat(crate::HeartbeatRequest {
            commit: LogIndex(0),
            read_round: 0,
        }),
    };
    net.heal();
    net.deliver(msg);
    net.settle();
    assert_eq!(net.node(1).status().role, Role::Follower);
    assert_eq!(
        net.node(1).status().term,
        net.node(new_leader).status().term
    );
}

#[test]
fn follower_that_lost_acknowledged_entries_is_sent_them_again() {
    // Node 2 acknowledges 1..=12, then restarts with its last two entries gone (a damaged
    // WAL tail cut at start-up). The leader's heartbeat commit is past its log: it must
    // not panic, and the leader must send entries 11..=12 again.
    let leader_log = [(1, 10, 1)];
    let stores = vec![
        store(3, &leader_log, 1, 10),
        store(3, &leader_log, 1, 10),
        store(3, &leader_log, 1, 10),
    ];
    let mut net = net_of(stores, |_| {});
    net.elect(1);
    net.node(1).propose(b"a".to_vec()).unwrap();
    net.settle();
    let last = net.node(1).log_entries().unwrap().last().unwrap().index;
    assert_eq!(
        net.node(2).log_entries().unwrap().last().unwrap().index,
        last
    );

    let p = net.peers.remove(&NodeId(2)).unwrap();
    let old = p.node.into_store();
    let mut damaged = MemLogStore::with_conf_state(ConfState::with_voters(1..=3));
    let kept: Vec<Entry> = old
        .stored_entries()
        .iter()
        .filter(|e| e.index.0 + 2 <= last.0)
        .cloned()
        .collect();
    damaged.append(&kept).unwrap();
    let mut hs = old.hard_state().unwrap();
    hs.commit = hs.commit.min(LogIndex(last.0 - 2));
    damaged.set_hard_state(&hs).unwrap();
    net.add_peer(p.cfg, damaged);

    net.run_ticks(5);
    assert!(
        net.delivered.iter().any(|m| m.from == NodeId(2)
            && matches!(
                m.body,
                MessageBody::HeartbeatResponse(crate::HeartbeatResponse {
                    lost_tail: Some(_),
                    ..
                })
            )),
        "the follower never reported its lost tail"
    );
    assert_eq!(
        net.node(2).log_entries().unwrap(),
        net.node(1).log_entries().unwrap(),
        "the leader did not send the lost entries again"
    );
    assert_eq!(net.node(2).status().commit, net.node(1).status().commit);
}
