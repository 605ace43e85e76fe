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

#[test]
fn lease_read_answers_without_a_heartbeat_round() {
    let mut net = Network::with_config(3, 5, |c| c.read_only_option = ReadOnlyOption::LeaseBased);
    net.elect(1);
    net.settle();
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
