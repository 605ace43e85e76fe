//! The generated code: messages round-trip through their encoding, the three services
//! exist with the expected methods, and an `ErrorDetail` survives a real gRPC call.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns panic on failure too

use bytes::Bytes;
use dougdb_proto::error_detail::{from_status, to_status};
use dougdb_proto::v1::{self, ErrorDetail};
use proptest::prelude::*;
use prost::Message;

fn raft_batch(entries: Vec<(u64, u64, Vec<u8>)>, commit: u64) -> v1::RaftBatch {
    let entries = entries
        .into_iter()
        .map(|(term, index, data)| v1::Entry {
            term,
            index,
            kind: v1::EntryKind::Normal as i32,
            data: Bytes::from(data),
        })
        .collect();
    let append = v1::RaftMessage {
        from: 1,
        to: 2,
        term: 3,
        body: Some(v1::raft_message::Body::Append(v1::AppendRequest {
            prev_log_index: 4,
            prev_log_term: 2,
            entries,
            commit,
        })),
    };
    let reject = v1::RaftMessage {
        from: 2,
        to: 1,
        term: 3,
        body: Some(v1::raft_message::Body::AppendResponse(v1::AppendResponse {
            result: Some(v1::append_response::Result::Reject(v1::AppendReject {
                rejected_index: 9,
                hint_index: 7,
                hint_term: 2,
            })),
        })),
    };
    v1::RaftBatch {
        cluster_id: 42,
        from_node: 1,
        to_node: 2,
        messages: vec![
            v1::RaftEnvelope {
                shard: 0,
                message: Some(append),
            },
            v1::RaftEnvelope {
                shard: 7,
                message: Some(reject),
            },
        ],
    }
}

proptest! {
    #[test]
    fn raft_batches_round_trip(
        entries in proptest::collection::vec((any::<u64>(), any::<u64>(), proptest::collection::vec(any::<u8>(), 0..64)), 0..8),
        commit in any::<u64>(),
    ) {
        let b = raft_batch(entries, commit);
        let back = v1::RaftBatch::decode(b.encode_to_vec().as_slice()).unwrap();
        prop_assert_eq!(back, b);
    }

    #[test]
    fn cas_requests_round_trip(expected in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..16)),
                               new_value in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..16))) {
        let r = v1::CasRequest {
            shard: 1,
            key: Bytes::from_static(b"k"),
            expected: expected.map(Bytes::from),
            new_value: new_value.map(Bytes::from),
            tag: Some(v1::WriteTag { client_id: 5, sequence: 6 }),
        };
        let back = v1::CasRequest::decode(r.encode_to_vec().as_slice()).unwrap();
        prop_assert_eq!(back, r);
    }
}

#[test]
fn absent_and_empty_values_differ() {
    let absent = v1::GetResponse { value: None };
    let empty = v1::GetResponse {
        value: Some(Bytes::new()),
    };
    let a = v1::GetResponse::decode(absent.encode_to_vec().as_slice()).unwrap();
    let e = v1::GetResponse::decode(empty.encode_to_vec().as_slice()).unwrap();
    assert_eq!(a.value, None);
    assert_eq!(e.value, Some(Bytes::new()));
}

#[test]
fn error_details_map_to_codes_and_back() {
    let cases = [
        (
            ErrorDetail::not_leader(3, Some((2, "127.0.0.1:7102".into()))),
            tonic::Code::FailedPrecondition,
        ),
        (
            ErrorDetail::not_leader(3, None),
            tonic::Code::FailedPrecondition,
        ),
        (ErrorDetail::wrong_shard(9), tonic::Code::FailedPrecondition),
        (
            ErrorDetail::unavailable("no quorum"),
            tonic::Code::Unavailable,
        ),
        (
            ErrorDetail::invalid_argument("empty key"),
            tonic::Code::InvalidArgument,
        ),
    ];
    for (detail, code) in cases {
        let status = to_status(&detail, "msg");
        assert_eq!(status.code(), code);
        assert_eq!(from_status(&status).unwrap(), Some(detail));
    }
    assert_eq!(from_status(&tonic::Status::cancelled("x")).unwrap(), None);
    let garbage = tonic::Status::with_details(
        tonic::Code::Internal,
        "x",
        Bytes::from_static(&[0xff, 0xff]),
    );
    assert!(from_status(&garbage).is_err());
}

#[test]
fn descriptor_set_names_the_three_services() {
    // Checked by substring: no prost-types dependency needed for this.
    let fds = dougdb_proto::FILE_DESCRIPTOR_SET;
    for name in ["Doug", "Raft", "Admin", "dougdb/v1/kv.proto"] {
        assert!(
            fds.windows(name.len()).any(|w| w == name.as_bytes()),
            "{name} missing"
        );
    }
}

/// A `Doug` service whose every method fails with NotLeader: enough to prove the service
/// trait, server and client are generated and that details cross the wire.
struct NotLeaderDoug;

type R<T> = Result<tonic::Response<T>, tonic::Status>;

fn not_leader<T>() -> R<T> {
    Err(to_status(
        &ErrorDetail::not_leader(1, Some((2, "127.0.0.1:1".into()))),
        "not the leader",
    ))
}

#[tonic::async_trait]
impl v1::doug_server::Doug for NotLeaderDoug {
    async fn get(&self, _: tonic::Request<v1::GetRequest>) -> R<v1::GetResponse> {
        not_leader()
    }
    async fn put(&self, _: tonic::Request<v1::PutRequest>) -> R<v1::PutResponse> {
        not_leader()
    }
    async fn delete(&self, _: tonic::Request<v1::DeleteRequest>) -> R<v1::DeleteResponse> {
        not_leader()
    }
    async fn cas(&self, _: tonic::Request<v1::CasRequest>) -> R<v1::CasResponse> {
        not_leader()
    }
    async fn scan(&self, _: tonic::Request<v1::ScanRequest>) -> R<v1::ScanResponse> {
        not_leader()
    }
    async fn batch(&self, _: tonic::Request<v1::BatchRequest>) -> R<v1::BatchResponse> {
        not_leader()
    }
    async fn cluster_map(
        &self,
        _: tonic::Request<v1::ClusterMapRequest>,
    ) -> R<v1::ClusterMapResponse> {
        Ok(tonic::Response::new(v1::ClusterMapResponse { map: None }))
    }
}

#[tokio::test]
async fn error_detail_crosses_a_real_grpc_call() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(v1::doug_server::DougServer::new(NotLeaderDoug))
            .serve_with_incoming(incoming),
    );
    let mut client = v1::doug_client::DougClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let err = client
        .put(v1::PutRequest {
            shard: 1,
            key: Bytes::from_static(b"k"),
            value: Bytes::from_static(b"v"),
            tag: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::FailedPrecondition);
    assert_eq!(
        from_status(&err).unwrap(),
        Some(ErrorDetail::not_leader(1, Some((2, "127.0.0.1:1".into()))))
    );
    let map = client
        .cluster_map(v1::ClusterMapRequest::default())
        .await
        .unwrap();
    assert_eq!(map.into_inner().map, None);
    server.abort();
}

#[test]
fn raft_and_admin_services_are_generated() {
    // Type-level checks: these names must exist with these shapes.
    fn _raft<T: v1::raft_server::Raft>(t: T) -> v1::raft_server::RaftServer<T> {
        v1::raft_server::RaftServer::new(t)
    }
    fn _admin<T: v1::admin_server::Admin>(t: T) -> v1::admin_server::AdminServer<T> {
        v1::admin_server::AdminServer::new(t)
    }
    let _ = v1::raft_client::RaftClient::<tonic::transport::Channel>::new;
    let _ = v1::admin_client::AdminClient::<tonic::transport::Channel>::new;
    let body = v1::raft_message::Body::TimeoutNow(v1::TimeoutNow {});
    assert!(matches!(body, v1::raft_message::Body::TimeoutNow(_)));
}
