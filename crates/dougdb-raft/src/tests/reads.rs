//! ReadIndex on the leader and from followers, the pending-until-commit rule, lease reads.

use super::network::Network;
use crate::{LogIndex, MessageBody, NodeId, ReadOnlyOption, ReadState};

#[test]
fn read_index_on_the_leader_is_confirmed_by_a_heartbeat_quorum() {
    let mut net = Network::new(3, 1);
    net.elect(1);
    net.node(1).propose(b"a".to_vec()).unwrap();
    net.settle();
    net.node(1).read_index(b"r1".to_vec()).unwrap();
    net.process_all();
    assert!(
        net.peer(1).read_states.is_empty(),
        "not before the quorum answers"
    );
    assert!(
        net.in_flight
            .iter()
            .any(|m| matches!(&m.body, MessageBody::Heartbeat(h) if h.read_round > 0))
    );
    net.settle();
    let commit = net.node(1).status().commit;
    assert_eq!(
        net.peer(1).read_states,
        vec![ReadState {
            index: commit,
            context: b"r1".to_vec()
        }]
    );
}

#[test]
fn an_isolated_leader_cannot_confirm_a_read() {
    let mut net = Network::new(3, 2);
    net.elect(1);
    net.isolate(1);
    net.node(1).read_index(b"r".to_vec()).unwrap();
    net.settle();
    assert!(net.peer(1).read_states.is_empty());
}

#[test]
fn follower_read_index_is_forwarded_and_answered() {
    let mut net = Network::new(3, 3);
    net.elect(1);
    net.node(1).propose(b"a".to_vec()).unwrap();
    net.settle();
    net.node(2).read_index(b"f".to_vec()).unwrap();
    net.settle();
    let commit = net.node(1).status().commit;
    assert_eq!(
        net.peer(2).read_states,
        vec![ReadState {
            index: commit,
            context: b"f".to_vec()
        }]
    );
    assert!(net.peer(1).read_states.is_empty());
}

#[test]
fn reads_wait_until_the_new_leader_commits_in_its_term() {
    let mut net = Network::new(3, 4);
    net.node(1).campaign().unwrap();
    // Deliver until 1 leads but hold back every Append acknowledgement.
    for _ in 0..20 {
        net.process_all();
        let batch = std::mem::take(&mut net.in_flight);
        for m in batch {
            if !matches!(m.body, MessageBody::AppendResponse(_)) {
                net.deliver(m);
            }
        }
    }
    assert_eq!(net.node(1).status().commit, LogIndex(0));
    net.node(1).read_index(b"early".to_vec()).unwrap();
    net.process_all();
    assert!(net.peer(1).read_states.is_empty());
    net.run_ticks(3);
    let rs = &net.peer(1).read_states;
    assert_eq!(rs.len(), 1);
    assert!(
        rs[0].index >= LogIndex(1),
        "index includes the leader's no-op"
    );
}

fn lease_net(seed: u64) -> Network {
    Network::with_config(3, seed, |c| c.read_only_option = ReadOnlyOption::LeaseBased)
}

fn read_round_in_flight(net: &Network) -> bool {
    net.in_flight
        .iter()
        .any(|m| matches!(&m.body, MessageBody::Heartbeat(h) if h.read_round > 0))
}

#[test]
fn lease_read_answers_without_a_heartbeat_round() {
    let mut net = lease_net(5);
    net.elect(1);
    // One heartbeat round answered by a quorum starts the lease.
    net.run_ticks(1);
    net.node(1).read_index(b"lease".to_vec()).unwrap();
    net.process_ready(NodeId(1));
    assert!(net.in_flight.is_empty(), "no confirmation round");
    let commit = net.node(1).status().commit;
    assert_eq!(
        net.peer(1).read_states,
        vec![ReadState {
            index: commit,
            context: b"lease".to_vec()
        }]
    );
}

#[test]
fn a_lease_read_before_any_answered_heartbeat_takes_a_round() {
    let mut net = lease_net(6);
    net.elect(1);
    net.node(1).read_index(b"early".to_vec()).unwrap();
    net.process_ready(NodeId(1));
    assert!(net.peer(1).read_states.is_empty(), "no lease yet");
    assert!(read_round_in_flight(&net));
    net.settle();
    assert_eq!(net.peer(1).read_states.len(), 1);
    // That round's answers started the lease: the next read is immediate.
    net.node(1).read_index(b"next".to_vec()).unwrap();
    net.process_ready(NodeId(1));
    assert_eq!(net.peer(1).read_states.len(), 2);
}

#[test]
fn a_leader_whose_clock_ran_past_its_lease_does_not_answer_from_it() {
    // The leader stalls (a stopped process); its ticks then catch up with real time at
    // once, still short of the check-quorum boundary, so only the lease protects the read.
    let mut net = lease_net(7);
    net.elect(1);
    net.run_ticks(1);
    net.isolate(1);
    let span = crate::lease::lease_span(10);
    for _ in 0..span - 1 {
        net.tick(1);
    }
    net.node(1).read_index(b"in".to_vec()).unwrap();
    net.process_ready(NodeId(1));
    assert_eq!(net.peer(1).read_states.len(), 1, "inside the lease");
    net.tick(1);
    assert_eq!(net.node(1).status().role, crate::Role::Leader);
    net.node(1).read_index(b"out".to_vec()).unwrap();
    net.process_ready(NodeId(1));
    assert_eq!(net.peer(1).read_states.len(), 1, "past the lease: a round");
    net.settle();
    assert_eq!(
        net.peer(1).read_states.len(),
        1,
        "isolated: never confirmed"
    );
    // Reconnected (no one else was elected): the next heartbeat round confirms it.
    net.heal();
    net.tick(1);
    net.settle();
    assert_eq!(net.peer(1).read_states.len(), 2);
}

#[test]
fn a_follower_in_lease_refuses_to_elect_a_new_leader_before_the_lease_ends() {
    let mut net = lease_net(8);
    net.elect(1);
    net.run_ticks(1);
    net.isolate(1);
    // Node 2 campaigns as early as it can; node 3 heard from the leader at the same tick.
    for _ in 0..crate::lease::lease_span(10) {
        net.node(2).campaign().unwrap();
        net.tick(3);
        net.settle();
        assert_ne!(net.node(2).status().role, crate::Role::Leader);
    }
}

#[test]
fn a_transfer_ends_the_lease() {
    let mut net = lease_net(9);
    net.elect(1);
    net.run_ticks(1);
    net.isolate(2);
    net.node(1).transfer_leader(NodeId(2)).unwrap();
    net.process_ready(NodeId(1));
    net.node(1).read_index(b"r".to_vec()).unwrap();
    net.process_ready(NodeId(1));
    assert!(
        net.peer(1).read_states.is_empty(),
        "no lease during a transfer"
    );
    // Abandoned transfer (an election timeout later): the lease stays off for the term.
    net.heal();
    net.settle();
    for _ in 0..10 {
        net.tick(1);
    }
    net.settle();
    assert_eq!(net.node(1).status().role, crate::Role::Leader);
    let before = net.peer(1).read_states.len();
    net.node(1).read_index(b"after".to_vec()).unwrap();
    net.process_ready(NodeId(1));
    assert_eq!(
        net.peer(1).read_states.len(),
        before,
        "lease disabled this term"
    );
    net.settle();
    assert_eq!(
        net.peer(1).read_states.len(),
        before + 1,
        "answered by a round"
    );
}

#[test]
fn a_restarted_node_refuses_votes_for_an_election_timeout() {
    let mut net = lease_net(10);
    net.elect(1);
    net.run_ticks(1);
    net.isolate(1);
    net.restart(2);
    // Node 2 forgot it heard from the leader; the restart guard stands in for it.
    net.node(3).campaign().unwrap();
    net.settle();
    assert_ne!(net.node(3).status().role, crate::Role::Leader);
    for _ in 0..10 {
        net.tick(2);
    }
    net.node(3).campaign().unwrap();
    net.settle();
    assert_eq!(net.node(3).status().role, crate::Role::Leader);
}
