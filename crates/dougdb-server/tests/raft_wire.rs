//! `raft_wire`: every `dougdb_raft::Message` survives raft -> proto -> bytes -> proto ->
//! raft unchanged (proptest over all body variants), and malformed wire messages are
//! refused, never a panic.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns panic on failure too

use dougdb_proto::v1;
use dougdb_raft::{
    AppendRequest, AppendResponse, ConfState, Entry, EntryKind, HeartbeatRequest,
    HeartbeatResponse, LogIndex, Message, MessageBody, NodeId, ReadIndexRequest, ReadIndexResponse,
    SnapshotChunk, SnapshotMetadata, SnapshotResponse, Term, VoteRequest, VoteResponse,
};
use dougdb_server::raft_wire::{message_from_proto, message_to_proto};
use proptest::prelude::*;
use prost::Message as _;

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..32)
}

fn entries(prev: u64) -> impl Strategy<Value = Vec<Entry>> {
    proptest::collection::vec((any::<u64>(), 0u8..3, bytes()), 0..5).prop_map(move |v| {
        v.into_iter()
            .enumerate()
            .map(|(k, (term, kind, data))| Entry {
                term: Term(term),
                index: LogIndex(prev + 1 + k as u64),
                kind: [EntryKind::Normal, EntryKind::ConfChange, EntryKind::Noop][kind as usize],
                data,
            })
            .collect()
    })
}

fn conf() -> impl Strategy<Value = ConfState> {
    (
        proptest::collection::btree_set(1u64..50, 0..5),
        proptest::collection::btree_set(50u64..99, 0..3),
    )
        .prop_map(|(v, l)| ConfState {
            voters: v.into_iter().map(NodeId).collect(),
            learners: l.into_iter().map(NodeId).collect(),
        })
}

fn body() -> impl Strategy<Value = MessageBody> {
    let vote =
        (any::<u64>(), any::<u64>(), any::<bool>()).prop_map(|(i, t, transfer)| VoteRequest {
            last_log_index: LogIndex(i),
            last_log_term: Term(t),
            transfer,
        });
    prop_oneof![
        vote.clone().prop_map(MessageBody::PreVote),
        any::<bool>().prop_map(|reject| MessageBody::PreVoteResponse(VoteResponse { reject })),
        vote.prop_map(MessageBody::Vote),
        any::<bool>().prop_map(|reject| MessageBody::VoteResponse(VoteResponse { reject })),
        (0u64..1 << 40, any::<u64>(), any::<u64>()).prop_flat_map(|(prev, t, c)| entries(prev)
            .prop_map(move |entries| {
                MessageBody::Append(AppendRequest {
                    prev_log_index: LogIndex(prev),
                    prev_log_term: Term(t),
                    entries,
                    commit: LogIndex(c),
                })
            })),
        any::<u64>().prop_map(|m| MessageBody::AppendResponse(AppendResponse::Success {
            match_index: LogIndex(m)
        })),
        (any::<u64>(), any::<u64>(), any::<u64>()).prop_map(|(r, h, t)| {
            MessageBody::AppendResponse(AppendResponse::Reject {
                rejected_index: LogIndex(r),
                hint_index: LogIndex(h),
                hint_term: Term(t),
            })
        }),
        (any::<u64>(), any::<u64>()).prop_map(|(c, r)| MessageBody::Heartbeat(HeartbeatRequest {
            commit: LogIndex(c),
            read_round: r
        })),
        (any::<u64>(), proptest::option::of(any::<u64>())).prop_map(|(r, lost)| {
            MessageBody::HeartbeatResponse(HeartbeatResponse {
                read_round: r,
                lost_tail: lost.map(LogIndex),
            })
        }),
        (
            any::<u64>(),
            any::<u64>(),
            conf(),
            any::<u64>(),
            bytes(),
            any::<bool>()
        )
            .prop_map(
                |(i, t, conf_state, offset, data, done)| MessageBody::Snapshot(SnapshotChunk {
                    metadata: SnapshotMetadata {
                        index: LogIndex(i),
                        term: Term(t),
                        conf_state
                    },
                    offset,
                    data,
                    done,
                })
            ),
        (any::<u64>(), any::<u64>(), any::<bool>()).prop_map(|(i, o, reject)| {
            MessageBody::SnapshotResponse(SnapshotResponse {
                snapshot_index: LogIndex(i),
                next_offset: o,
                reject,
            })
        }),
        Just(MessageBody::TimeoutNow),
        bytes().prop_map(|context| MessageBody::ReadIndex(ReadIndexRequest { context })),
        (bytes(), any::<u64>()).prop_map(|(context, i)| {
            MessageBody::ReadIndexResponse(ReadIndexResponse {
                context,
                index: LogIndex(i),
            })
        }),
    ]
}

proptest! {
    #[test]
    fn every_message_round_trips(from in 1u64.., to in 1u64.., term: u64, body in body()) {
        let m = Message { from: NodeId(from), to: NodeId(to), term: Term(term), body };
        let wire = message_to_proto(m.clone()).encode_to_vec();
        let back = message_from_proto(v1::RaftMessage::decode(wire.as_slice()).unwrap()).unwrap();
        prop_assert_eq!(back, m);
    }

    #[test]
    fn arbitrary_wire_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..128)) {
        if let Ok(m) = v1::RaftMessage::decode(buf.as_slice()) {
            let _ = message_from_proto(m);
        }
    }
}

#[test]
fn malformed_messages_are_refused() {
    let ok = message_to_proto(Message {
        from: NodeId(1),
        to: NodeId(2),
        term: Term(1),
        body: MessageBody::TimeoutNow,
    });
    assert!(message_from_proto(ok.clone()).is_ok());
    assert!(
        message_from_proto(v1::RaftMessage {
            body: None,
            ..ok.clone()
        })
        .is_err()
    );
    assert!(
        message_from_proto(v1::RaftMessage {
            from: 0,
            ..ok.clone()
        })
        .is_err()
    );
    let entry = |index, kind| v1::Entry {
        term: 1,
        index,
        kind,
        data: Default::default(),
    };
    let append = |entries| v1::RaftMessage {
        body: Some(v1::raft_message::Body::Append(v1::AppendRequest {
            prev_log_index: 4,
            prev_log_term: 1,
            entries,
            commit: 0,
        })),
        ..ok.clone()
    };
    assert!(message_from_proto(append(vec![entry(5, 1), entry(6, 3)])).is_ok());
    assert!(
        message_from_proto(append(vec![entry(5, 1), entry(7, 1)])).is_err(),
        "gap"
    );
    assert!(
        message_from_proto(append(vec![entry(5, 0)])).is_err(),
        "unspecified kind"
    );
    assert!(
        message_from_proto(append(vec![entry(5, 99)])).is_err(),
        "unknown kind"
    );
    let snap = |voters: Vec<u64>, learners: Vec<u64>| v1::RaftMessage {
        body: Some(v1::raft_message::Body::Snapshot(v1::SnapshotChunk {
            metadata: Some(v1::SnapshotMetadata {
                index: 3,
                term: 1,
                conf_state: Some(v1::ConfState { voters, learners }),
            }),
            ..Default::default()
        })),
        ..ok.clone()
    };
    assert!(message_from_proto(snap(vec![1, 2], vec![3])).is_ok());
    assert!(
        message_from_proto(snap(vec![1, 1], vec![])).is_err(),
        "duplicate voter"
    );
    assert!(
        message_from_proto(snap(vec![1], vec![1])).is_err(),
        "voter and learner"
    );
    assert!(message_from_proto(snap(vec![0], vec![])).is_err(), "node 0");
}
