//! Writes a seed corpus for the wire targets into `fuzz/wire/seeds/<target>/`: one valid
//! message per interesting shape (Raft appends and snapshots, each kind of write request,
//! a membership request, a cluster map and an error detail), encoded with prost. Rerun
//! after a proto change: `cd fuzz/wire && cargo run --example seeds` (committed; the
//! smoke script passes each seed directory to libFuzzer beside the working corpus).

use std::path::Path;

use bytes::Bytes;
use dougdb_fuzz_wire::raft_wire::message_to_proto;
use dougdb_proto::v1::{self, batch_op, raft_message::Body};
use dougdb_raft::{
    AppendRequest, ConfState, Entry, EntryKind, LogIndex, Message, MessageBody, NodeId,
    SnapshotChunk, SnapshotMetadata, Term,
};

fn save(target: &str, name: &str, selector: Option<u8>, msg: &impl prost::Message) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(target);
    let mut bytes: Vec<u8> = selector.into_iter().collect();
    bytes.extend_from_slice(&msg.encode_to_vec());
    if let Err(e) =
        std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(dir.join(name), bytes))
    {
        panic!("writing seed {target}/{name}: {e}");
    }
}

fn raft(body: MessageBody) -> v1::RaftMessage {
    message_to_proto(Message {
        from: NodeId(1),
        to: NodeId(2),
        term: Term(3),
        body,
    })
}

fn raft_wire() {
    let entry = |index, kind| Entry {
        term: Term(3),
        index: LogIndex(index),
        kind,
        data: b"x".to_vec(),
    };
    let append = AppendRequest {
        prev_log_index: LogIndex(4),
        prev_log_term: Term(2),
        entries: vec![entry(5, EntryKind::Normal), entry(6, EntryKind::ConfChange)],
        commit: LogIndex(4),
    };
    save(
        "raft_wire",
        "append",
        None,
        &raft(MessageBody::Append(append)),
    );
    let chunk = SnapshotChunk {
        metadata: SnapshotMetadata {
            index: LogIndex(9),
            term: Term(2),
            conf_state: ConfState {
                voters: [1, 2, 3].map(NodeId).into(),
                learners: [4].map(NodeId).into(),
            },
        },
        offset: 0,
        data: b"snapshot bytes".to_vec(),
        done: true,
    };
    save(
        "raft_wire",
        "snapshot",
        None,
        &raft(MessageBody::Snapshot(chunk)),
    );
    let mut heartbeat = raft(MessageBody::TimeoutNow);
    heartbeat.body = Some(Body::Heartbeat(v1::HeartbeatRequest {
        commit: 4,
        read_round: 1,
    }));
    save("raft_wire", "heartbeat", None, &heartbeat);
}

fn server_request() {
    let tag = Some(v1::WriteTag {
        client_id: 7,
        sequence: 1,
    });
    let key = Bytes::from_static(b"key");
    let put = v1::PutRequest {
        shard: 0,
        key: key.clone(),
        value: Bytes::from_static(b"v"),
        tag,
    };
    save("server_request", "put", Some(1), &put);
    let cas = v1::CasRequest {
        shard: 0,
        key: key.clone(),
        expected: Some(Bytes::from_static(b"old")),
        new_value: Some(Bytes::from_static(b"new")),
        tag,
    };
    save("server_request", "cas", Some(3), &cas);
    let op = |op| v1::BatchOp { op: Some(op) };
    let batch = v1::BatchRequest {
        shard: 1,
        ops: vec![
            op(batch_op::Op::Put(v1::BatchPut {
                key: key.clone(),
                value: Bytes::from_static(b"v"),
            })),
            op(batch_op::Op::Delete(v1::BatchDelete { key })),
        ],
        tag,
    };
    save("server_request", "batch", Some(4), &batch);
    let learner = v1::AddLearnerRequest {
        shard: 0,
        node_id: 5,
        address: "127.0.0.1:7105".into(),
    };
    // Admin requests: selector >= 128, and 135 % 9 == 0 picks AddLearner.
    save("server_request", "add_learner", Some(135), &learner);
}

fn client_response() {
    let map = v1::ClusterMap {
        cluster_id: 42,
        version: 2,
        nodes: (1..=3)
            .map(|id| v1::NodeInfo {
                id,
                address: format!("127.0.0.1:710{id}"),
            })
            .collect(),
        shards: (0..2)
            .map(|id| v1::ShardInfo {
                id,
                voters: vec![1, 2, 3],
                learners: vec![],
                leader_hint: Some(1),
            })
            .collect(),
        routing: Some(v1::RoutingPlugin {
            name: "hash-router".into(),
            sha256: Bytes::from(vec![7u8; 32]),
            wasm: None,
            config: Bytes::new(),
        }),
    };
    save(
        "client_response",
        "cluster_map",
        Some(0),
        &v1::ClusterMapResponse { map: Some(map) },
    );
    let hint = Some((2, "127.0.0.1:7102".to_string()));
    save(
        "client_response",
        "not_leader",
        Some(1),
        &v1::ErrorDetail::not_leader(1, hint),
    );
}

fn main() {
    raft_wire();
    server_request();
    client_response();
}
