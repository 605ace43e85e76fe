//! Fuzz target: arbitrary bytes as a `dougdb.v1.RaftMessage` from a peer (the Raft
//! service's request body), translated for the Raft core by `dougdb-server`'s
//! `raft_wire::message_from_proto`. Decoding and translation give a message or an error,
//! never a panic. An accepted message keeps the promises the core relies on (node ids not
//! 0, append entries consecutive after `prev_log_index` with known kinds, memberships
//! without id 0 or a node both voter and learner), and it survives the trip back: to the
//! wire, encoded, decoded and translated again, it is the same message.
#![no_main]

use dougdb_fuzz_wire::raft_wire::{message_from_proto, message_to_proto};
use dougdb_proto::v1;
use dougdb_raft::{ConfState, Message, MessageBody, NodeId};
use libfuzzer_sys::fuzz_target;
use prost::Message as _;

fn check_conf(c: &ConfState) {
    assert!(!c.voters.contains(&NodeId(0)) && !c.learners.contains(&NodeId(0)));
    assert!(
        c.voters.is_disjoint(&c.learners),
        "a node both voter and learner: {c:?}"
    );
}

fn check(m: &Message) {
    assert!(m.from.0 != 0 && m.to.0 != 0, "node id 0 accepted: {m:?}");
    match &m.body {
        MessageBody::Append(a) => {
            for (k, e) in a.entries.iter().enumerate() {
                assert_eq!(
                    Some(e.index.0),
                    a.prev_log_index.0.checked_add(1 + k as u64)
                );
            }
        }
        MessageBody::Snapshot(c) => check_conf(&c.metadata.conf_state),
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(wire) = v1::RaftMessage::decode(data) else {
        return;
    };
    let Ok(msg) = message_from_proto(wire) else {
        return;
    };
    check(&msg);
    let bytes = message_to_proto(msg.clone()).encode_to_vec();
    let again = v1::RaftMessage::decode(bytes.as_slice())
        .unwrap_or_else(|e| panic!("our own encoding of {msg:?} does not decode: {e}"));
    let again = message_from_proto(again)
        .unwrap_or_else(|e| panic!("our own message {msg:?} is refused: {e:?}"));
    assert_eq!(again, msg);
});
