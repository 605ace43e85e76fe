//! Fuzz target: arbitrary bytes as a `dougdb.v1.Doug` or `dougdb.v1.Admin` request, as a
//! node's gRPC services receive it. The first byte picks the message. Any bytes give a request or a prost
//! error, never a panic, and a decoded request encodes and decodes back to itself.
//! Write requests then go through what the service does before proposing (the command
//! built from the request, the node's limits check, the command encoding that becomes
//! the Raft entry), and reads through the same key check: never a panic; a request the
//! limits accept has a non-empty key outside the reserved prefix, and its command decodes
//! from the entry bytes to exactly itself (what every replica will apply). Membership
//! requests become the `ConfChange` the Admin service builds; the Raft core's check of
//! it against a membership never panics, and the entry it would log (the change with the
//! resulting membership) decodes to itself.
#![no_main]

use dougdb_fuzz_wire::service;
use dougdb_fuzz_wire::state_machine::command::{BatchOp, Command, Op};
use dougdb_fuzz_wire::state_machine::limits::{INTERNAL_KEY_PREFIX, Limits};
use dougdb_proto::v1;
use dougdb_raft::{ConfChange, ConfChangeKind, ConfChangeRecord, ConfState, NodeId};
use libfuzzer_sys::fuzz_target;
use prost::Message;

/// Decodes `bytes` as `M`; a decoded message must survive encode + decode unchanged.
fn decode<M: Message + Default + PartialEq + std::fmt::Debug>(bytes: &[u8]) -> Option<M> {
    let m = M::decode(bytes).ok()?;
    let again = M::decode(m.encode_to_vec().as_slice())
        .unwrap_or_else(|e| panic!("re-encoded {m:?} does not decode: {e}"));
    assert_eq!(again, m);
    Some(m)
}

fn client_key(key: &[u8]) {
    assert!(
        !key.is_empty() && !key.starts_with(INTERNAL_KEY_PREFIX),
        "key {key:?} passed"
    );
}

/// The service's path from a write's command to the Raft entry, then the apply side.
fn propose(cmd: Command) {
    let limits = Limits::default();
    let Ok(entry) = service::proposal(&cmd, &limits) else {
        return;
    };
    match &cmd.op {
        Op::Put { key, .. } | Op::Delete { key } | Op::Cas { key, .. } => client_key(key),
        Op::Batch(ops) => {
            assert!(!ops.is_empty() && ops.len() <= limits.batch_ops_max as usize);
            for op in ops {
                match op {
                    BatchOp::Put { key, .. } | BatchOp::Delete { key } => client_key(key),
                }
            }
        }
    }
    let applied = Command::decode(&entry)
        .unwrap_or_else(|e| panic!("the entry of {cmd:?} does not decode: {e:?}"));
    assert_eq!(applied, cmd);
}

/// The Admin service's membership change (`change` in service/admin.rs), then the Raft
/// core's validation against a 3-voter, 1-learner membership and the entry it would log.
fn membership(kind: ConfChangeKind, node: u64, context: Vec<u8>) {
    let change = ConfChange {
        kind,
        node: NodeId(node),
        context,
    };
    let conf = ConfState {
        voters: [1, 2, 3].map(NodeId).into(),
        learners: [4].map(NodeId).into(),
    };
    let Ok(next) = change.apply_to(&conf) else {
        return;
    };
    assert!(node != 0 && !next.voters.is_empty() && next.voters.is_disjoint(&next.learners));
    let record = ConfChangeRecord {
        change,
        conf_state: next,
    };
    assert_eq!(
        ConfChangeRecord::decode(&record.encode()).ok(),
        Some(record)
    );
}

fn admin(selector: u8, bytes: &[u8]) {
    match selector % 9 {
        0 => {
            let Some(req) = decode::<v1::AddLearnerRequest>(bytes) else {
                return;
            };
            // The service refuses an empty address before building the change.
            if !req.address.is_empty() {
                membership(
                    ConfChangeKind::AddLearner,
                    req.node_id,
                    req.address.into_bytes(),
                );
            }
        }
        1 => {
            let Some(req) = decode::<v1::PromoteRequest>(bytes) else {
                return;
            };
            membership(ConfChangeKind::AddVoter, req.node_id, Vec::new());
        }
        2 => {
            let Some(req) = decode::<v1::RemoveMemberRequest>(bytes) else {
                return;
            };
            membership(ConfChangeKind::RemoveNode, req.node_id, Vec::new());
        }
        3 => drop(decode::<v1::StatusRequest>(bytes)),
        4 => drop(decode::<v1::TransferLeaderRequest>(bytes)),
        5 => drop(decode::<v1::PartitionRequest>(bytes)),
        6 => {
            let Some(req) = decode::<v1::CutRequest>(bytes) else {
                return;
            };
            let _ = v1::Direction::try_from(req.direction);
        }
        7 => drop(decode::<v1::HealRequest>(bytes)),
        _ => drop(decode::<v1::DropRateRequest>(bytes)),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let limits = Limits::default();
    if selector >= 128 {
        return admin(selector, bytes);
    }
    match selector % 7 {
        0 => {
            let Some(req) = decode::<v1::GetRequest>(bytes) else {
                return;
            };
            if limits.check_key(&req.key).is_ok() {
                client_key(&req.key);
            }
        }
        1 => decode::<v1::PutRequest>(bytes)
            .map(service::put)
            .map_or((), propose),
        2 => decode::<v1::DeleteRequest>(bytes)
            .map(service::delete)
            .map_or((), propose),
        3 => decode::<v1::CasRequest>(bytes)
            .map(service::cas)
            .map_or((), propose),
        4 => {
            let Some(req) = decode::<v1::BatchRequest>(bytes) else {
                return;
            };
            let refused = req.ops.iter().any(|op| op.op.is_none());
            match service::batch(req) {
                Ok(cmd) => propose(cmd),
                Err(_) => assert!(refused, "a batch without an empty op was refused"),
            }
        }
        5 => drop(decode::<v1::ScanRequest>(bytes)),
        _ => drop(decode::<v1::ClusterMapRequest>(bytes)),
    }
});
