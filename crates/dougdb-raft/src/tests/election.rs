//! Election rules: vote granting/refusal, pre-vote, check-quorum, leader lease, no-op.

use super::network::{Network, cfg};
use crate::{
    ConfState, Entry, EntryKind, LogIndex, MemLogStore, Message, MessageBody, NodeId, RawNode,
    Role, Term, VoteRequest, VoteResponse, persist_ready,
};

pub(super) fn three_node(id: u64) -> RawNode<MemLogStore> {
    RawNode::new(
        cfg(id, 1),
        MemLogStore::with_conf_state(ConfState::with_voters([1, 2, 3])),
    )
    .unwrap()
}

/// Persists and advances every Ready; returns (immediate, after-persist) messages.
pub(super) fn drain(n: &mut RawNode<MemLogStore>) -> (Vec<Message>, Vec<Message>) {
    let (mut now, mut later) = (Vec::new(), Vec::new());
    while n.has_ready() {
        let rd = n.ready().unwrap();
        persist_ready(n.store_mut(), &rd).unwrap();
        now.extend(rd.messages);
        later.extend(rd.persisted_messages);
        n.advance().unwrap();
    }
    (now, later)
}

fn vote(from: u64, to: u64, term: u64, last_index: u64, last_term: u64, pre: bool) -> Message {
    let req = VoteRequest {
        last_log_index: LogIndex(last_index),
        last_log_term: Term(last_term),
        transfer: false,
    };
    Message {
        from: NodeId(from),
        to: NodeId(to),
        term: Term(term),
        body: if pre {
            MessageBody::PreVote(req)
        } else {
            MessageBody::Vote(req)
        },
    }
}

fn vote_reply(msgs: &[Message]) -> Option<(Term, bool)> {
    msgs.iter().find_map(|m| match &m.body {
        MessageBody::VoteResponse(VoteResponse { reject })
        | MessageBody::PreVoteResponse(VoteResponse { reject }) => Some((m.term, !*reject)),
        _ => None,
    })
}

#[test]
fn one_vote_per_term_and_a_new_term_clears_the_vote() {
    let mut n = three_node(1);
    n.step(vote(2, 1, 1, 0, 0, false)).unwrap();
    let (now, later) = drain(&mut n);
    assert!(
        now.is_empty(),
        "a vote must not leave before it is persisted"
    );
    assert_eq!(vote_reply(&later), Some((Term(1), true)));
    assert_eq!(n.store().snapshot().metadata.index, LogIndex(0));
    assert_eq!(
        crate::LogStore::hard_state(n.store()).unwrap().vote,
        Some(NodeId(2))
    );
    n.step(vote(3, 1, 1, 0, 0, false)).unwrap();
    assert_eq!(
        vote_reply(&drain(&mut n).1),
        Some((Term(1), false)),
        "second candidate, same term"
    );
    n.step(vote(2, 1, 1, 0, 0, false)).unwrap();
    assert_eq!(
        vote_reply(&drain(&mut n).1),
        Some((Term(1), true)),
        "retransmission is re-granted"
    );
    n.step(vote(3, 1, 2, 0, 0, false)).unwrap();
    assert_eq!(
        vote_reply(&drain(&mut n).1),
        Some((Term(2), true)),
        "new term, fresh vote"
    );
    assert_eq!(n.status().vote, Some(NodeId(3)));
}

#[test]
fn vote_refused_to_a_candidate_with_a_less_up_to_date_log() {
    let mut store = MemLogStore::with_conf_state(ConfState::with_voters([1, 2, 3]));
    let e = |i, t| Entry {
        term: Term(t),
        index: LogIndex(i),
        kind: EntryKind::Normal,
        data: vec![],
    };
    crate::LogStore::append(&mut store, &[e(1, 1), e(2, 2)]).unwrap();
    crate::LogStore::set_hard_state(
        &mut store,
        &crate::HardState {
            term: Term(2),
            vote: None,
            commit: LogIndex(0),
        },
    )
    .unwrap();
    let mut n = RawNode::new(cfg(1, 1), store).unwrap();
    n.step(vote(2, 1, 3, 5, 1, false)).unwrap(); // older last term, longer log
    assert_eq!(vote_reply(&drain(&mut n).1), Some((Term(3), false)));
    n.step(vote(2, 1, 4, 1, 2, false)).unwrap(); // same last term, shorter log
    assert_eq!(vote_reply(&drain(&mut n).1), Some((Term(4), false)));
    n.step(vote(2, 1, 5, 2, 2, false)).unwrap(); // equal
    assert_eq!(vote_reply(&drain(&mut n).1), Some((Term(5), true)));
}

#[test]
fn pre_vote_changes_neither_term_nor_vote() {
    let mut n = three_node(1);
    n.step(vote(2, 1, 5, 0, 0, true)).unwrap();
    assert_eq!(
        vote_reply(&drain(&mut n).1),
        Some((Term(5), true)),
        "granted at the asked term"
    );
    let st = n.status();
    assert_eq!((st.term, st.vote), (Term(0), None));
    // The pre-candidate itself does not bump its term either.
    n.campaign().unwrap();
    let st = n.status();
    assert_eq!((st.role, st.term), (Role::PreCandidate, Term(0)));
    let (_, later) = drain(&mut n);
    assert!(
        later
            .iter()
            .all(|m| matches!(m.body, MessageBody::PreVote(_)) && m.term == Term(1))
    );
    assert_eq!(later.len(), 2);
}

#[test]
fn partitioned_node_with_pre_vote_does_not_disrupt_the_leader() {
    let mut net = Network::new(3, 7);
    net.elect(1);
    let term = net.node(1).status().term;
    net.isolate(3);
    net.run_ticks(100);
    assert_eq!(
        net.node(3).status().term,
        term,
        "pre-vote kept the isolated node's term"
    );
    net.heal();
    net.run_ticks(30);
    assert_eq!(net.leader(), Some(1));
    assert_eq!(net.node(1).status().term, term);
}

#[test]
fn check_quorum_makes_an_isolated_leader_step_down() {
    let mut net = Network::new(3, 11);
    net.elect(1);
    net.isolate(1);
    for _ in 0..20 {
        net.tick(1);
    }
    assert_eq!(net.node(1).status().role, Role::Follower);
    // The majority side elects a new leader.
    net.run_ticks(60);
    let l = net.leader().unwrap();
    assert_ne!(l, 1);
}

#[test]
fn leader_lease_refuses_votes_unless_it_is_a_transfer() {
    let mut net = Network::new(3, 3);
    net.elect(1);
    let term = net.node(2).status().term;
    let n2 = net.node(2);
    n2.step(vote(3, 2, term.0 + 1, 100, term.0, false)).unwrap();
    let (now, later) = drain(n2);
    assert!(
        now.is_empty() && later.is_empty(),
        "vote ignored while the leader is live"
    );
    assert_eq!(n2.status().term, term, "and the term is not bumped");
    let mut m = vote(3, 2, term.0 + 1, 100, term.0, false);
    if let MessageBody::Vote(r) = &mut m.body {
        r.transfer = true;
    }
    n2.step(m).unwrap();
    assert_eq!(vote_reply(&drain(n2).1), Some((term.next(), true)));
}

#[test]
fn new_leader_appends_and_commits_a_noop_of_its_term() {
    let mut net = Network::new(3, 5);
    net.elect(2);
    let st = net.node(2).status();
    let log = net.node(2).log_entries().unwrap();
    let last = log.last().unwrap();
    assert_eq!(
        (last.kind, last.term, last.index),
        (EntryKind::Noop, st.term, LogIndex(1))
    );
    for id in 1..=3 {
        assert_eq!(net.node(id).status().commit, LogIndex(1), "n{id}");
    }
}

#[test]
fn election_timeout_is_randomised_in_one_to_two_election_ticks() {
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..40 {
        let mut c = cfg(1, seed);
        c.pre_vote = false;
        let mut n = RawNode::new(
            c,
            MemLogStore::with_conf_state(ConfState::with_voters([1, 2, 3])),
        )
        .unwrap();
        let mut ticks = 0;
        while n.status().role == Role::Follower {
            n.tick().unwrap();
            ticks += 1;
            assert!(ticks < 100);
        }
        assert!(
            (10..20).contains(&ticks),
            "timeout {ticks} outside [10, 20)"
        );
        seen.insert(ticks);
    }
    assert!(seen.len() > 3, "timeouts not randomised: {seen:?}");
}

#[test]
fn a_single_voter_elects_itself_and_commits_after_persisting() {
    let mut n = RawNode::new(
        cfg(1, 1),
        MemLogStore::with_conf_state(ConfState::with_voters([1])),
    )
    .unwrap();
    n.campaign().unwrap();
    assert_eq!(n.status().role, Role::Leader);
    let rd = n.ready().unwrap();
    assert_eq!(rd.entries.len(), 1);
    assert!(
        rd.committed_entries.is_empty(),
        "not committed before the leader persisted it"
    );
    n.persist(&rd).unwrap();
    n.advance().unwrap();
    let rd = n.ready().unwrap();
    assert_eq!(rd.committed_entries.len(), 1);
    n.advance().unwrap();
    let idx = n.propose(b"x".to_vec()).unwrap();
    assert_eq!(idx, LogIndex(2));
}

#[test]
fn a_restarted_node_remembers_its_vote() {
    let mut n = three_node(1);
    n.step(vote(2, 1, 1, 0, 0, false)).unwrap();
    drain(&mut n);
    let mut n = RawNode::new(cfg(1, 1), n.into_store()).unwrap();
    assert_eq!(
        (n.status().term, n.status().vote),
        (Term(1), Some(NodeId(2)))
    );
    n.step(vote(3, 1, 1, 0, 0, false)).unwrap();
    assert_eq!(vote_reply(&drain(&mut n).1), Some((Term(1), false)));
}
