//! Snapshots to lagging followers, membership changes, leader transfer.

use super::network::{Network, cfg};
use crate::{
    ConfChange, ConfChangeKind, ConfChangeRecord, DropReason, EntryKind, Error, LogIndex,
    MemLogStore, MessageBody, NodeId, ProgressState, Role,
};

fn cc(kind: ConfChangeKind, node: u64) -> ConfChange {
    ConfChange {
        kind,
        node: NodeId(node),
        context: format!("addr-{node}").into_bytes(),
    }
}

/// Proposes a change on the leader and lets it commit everywhere.
fn change(net: &mut Network, leader: u64, c: ConfChange) -> LogIndex {
    let idx = net.node(leader).propose_conf_change(c).unwrap();
    net.settle();
    net.run_ticks(3);
    assert!(
        net.node(leader).status().commit >= idx || net.node(leader).status().role != Role::Leader
    );
    idx
}

#[test]
fn lagging_follower_gets_the_snapshot_in_chunks() {
    let mut net = Network::with_config(3, 5, |c| c.max_size_per_msg_bytes = 64);
    net.elect(1);
    net.isolate(3);
    for i in 0..20u8 {
        net.node(1).propose(vec![i; 30]).unwrap();
    }
    net.settle();
    net.run_ticks(2);
    net.compact(1);
    assert!(net.node(1).status().first_index > LogIndex(20));
    net.heal();
    net.delivered.clear();
    net.run_ticks(20);
    let chunks: Vec<_> = net
        .delivered
        .iter()
        .filter_map(|m| match &m.body {
            MessageBody::Snapshot(c) if m.to == NodeId(3) => Some(c.clone()),
            _ => None,
        })
        .collect();
    assert!(chunks.len() >= 10, "{} chunks", chunks.len());
    assert!(chunks.iter().all(|c| c.data.len() <= 64));
    assert!(
        chunks.windows(2).all(|w| w[1].offset >= w[0].offset),
        "chunks in order"
    );
    assert!(chunks.last().unwrap().done);
    assert_eq!(net.peer(3).sm, net.peer(1).sm);
    assert_eq!(net.peer(3).sm.len(), 20);
    assert!(
        net.node(3).status().first_index > LogIndex(20),
        "follower log starts after the snapshot"
    );
    let st = net.node(1).status();
    assert_eq!(st.progress[&NodeId(3)].state, ProgressState::Replicate);
    // And replication continues normally after the snapshot.
    net.node(1).propose(b"after".to_vec()).unwrap();
    net.settle();
    assert_eq!(net.peer(3).sm.last().unwrap(), b"after");
}

#[test]
fn learner_receives_the_log_without_voting_then_is_promoted() {
    let mut net = Network::new(3, 6);
    net.elect(1);
    net.node(1).propose(b"before".to_vec()).unwrap();
    net.settle();
    net.add_peer(cfg(4, 6), MemLogStore::new());
    change(&mut net, 1, cc(ConfChangeKind::AddLearner, 4));
    net.node(1).propose(b"after".to_vec()).unwrap();
    net.settle();
    assert_eq!(
        net.peer(4).sm,
        vec![b"before".to_vec(), b"after".to_vec()],
        "learner replicates"
    );
    let st = net.node(4).status();
    assert!(st.conf_state.learners.contains(&NodeId(4)));
    // A learner never campaigns.
    for _ in 0..50 {
        net.tick(4);
    }
    assert_eq!(net.node(4).status().role, Role::Follower);
    assert!(
        !net.delivered.iter().any(|m| m.from == NodeId(4)
            && matches!(m.body, MessageBody::PreVote(_) | MessageBody::Vote(_)))
    );
    // Learner acks do not count towards commitment: with 2 and 3 down, nothing commits.
    net.isolate(2);
    net.isolate(3);
    net.cut.retain(|(a, b)| {
        !((*a == NodeId(1) && *b == NodeId(4)) || (*a == NodeId(4) && *b == NodeId(1)))
    });
    let idx = net.node(1).propose(b"x".to_vec()).unwrap();
    net.settle();
    assert!(net.node(1).status().commit < idx);
    net.heal();
    net.run_ticks(3);
    // Promote: 4 now votes and can lead.
    change(&mut net, 1, cc(ConfChangeKind::AddVoter, 4));
    assert!(net.node(4).status().conf_state.voters.contains(&NodeId(4)));
    net.node(1).transfer_leader(NodeId(4)).unwrap();
    net.settle();
    assert_eq!(net.leader(), Some(4));
}

#[test]
fn removing_a_follower_and_then_the_leader() {
    let mut net = Network::new(5, 8);
    net.elect(1);
    let idx = change(&mut net, 1, cc(ConfChangeKind::RemoveNode, 5));
    // The committed entry decodes for the application.
    let e = net.peer(2).applied[&idx].clone();
    assert_eq!(e.kind, EntryKind::ConfChange);
    let rec = ConfChangeRecord::decode(&e.data).unwrap();
    assert_eq!(rec.change.context, b"addr-5".to_vec());
    assert_eq!(rec.conf_state.voters.len(), 4);
    // Remove the leader itself: it commits the removal, steps down, and a new leader
    // (from the remaining voters) takes over without waiting for a lease to expire.
    change(&mut net, 1, cc(ConfChangeKind::RemoveNode, 1));
    net.run_ticks(5);
    assert_ne!(net.node(1).status().role, Role::Leader);
    let l = net.leader().expect("new leader");
    assert!([2, 3, 4].contains(&l));
    net.node(l).propose(b"post".to_vec()).unwrap();
    net.settle();
    for id in 2..=4 {
        assert_eq!(net.peer(id).sm.last().unwrap(), b"post", "n{id}");
    }
    // The removed nodes never campaign (not voters in their configuration).
    net.run_ticks(100);
    assert_eq!(net.leader(), Some(l));
}

#[test]
fn one_membership_change_at_a_time() {
    let mut net = Network::new(3, 12);
    net.elect(1);
    net.cut.insert((NodeId(1), NodeId(2)));
    net.cut.insert((NodeId(1), NodeId(3)));
    net.node(1)
        .propose_conf_change(cc(ConfChangeKind::AddLearner, 4))
        .unwrap();
    let second = net
        .node(1)
        .propose_conf_change(cc(ConfChangeKind::AddLearner, 5));
    assert!(matches!(second, Err(Error::ConfChangePending { .. })));
    let bad = net
        .node(1)
        .propose_conf_change(cc(ConfChangeKind::RemoveNode, 9));
    assert!(bad.is_err());
}

#[test]
fn leader_transfer_hands_over_and_drops_proposals_meanwhile() {
    let mut net = Network::new(3, 13);
    net.elect(1);
    net.node(1).transfer_leader(NodeId(2)).unwrap();
    net.settle();
    assert_eq!(net.leader(), Some(2));
    assert_eq!(net.node(1).status().role, Role::Follower);
    // A lagging target: the transfer waits, proposals are refused, and it times out.
    net.isolate(3);
    net.node(2).propose(b"x".to_vec()).unwrap();
    net.settle();
    net.heal();
    net.cut.insert((NodeId(2), NodeId(3)));
    net.node(2).transfer_leader(NodeId(3)).unwrap();
    let r = net.node(2).propose(b"y".to_vec());
    assert!(matches!(
        r,
        Err(Error::ProposalDropped {
            reason: DropReason::LeaderTransfer
        })
    ));
    for _ in 0..10 {
        net.tick(2);
        net.settle();
    }
    assert_eq!(
        net.node(2).status().lead_transferee,
        None,
        "transfer abandoned"
    );
    assert!(net.node(2).propose(b"z".to_vec()).is_ok());
    assert!(matches!(
        net.node(1).transfer_leader(NodeId(3)),
        Err(Error::NotLeader {
            leader_hint: Some(NodeId(2))
        })
    ));
}
