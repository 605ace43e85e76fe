//! What a failed RPC means for the retry loop: the one place a `tonic::Status` is
//! translated. Decisions follow the typed `ErrorDetail`, never the code alone (see
//! `dougdb_proto::error_detail`); a status without a detail is a transport-level outcome.

use dougdb_proto::error_detail::from_status;
use dougdb_proto::v1::error_detail::Kind;
use tonic::Code;

use crate::{NodeId, ShardId};

/// A failed attempt, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The node does not lead the shard; the request was not proposed.
    NotLeader {
        shard: ShardId,
        /// Leader id and address (empty when the node does not know it).
        hint: Option<(NodeId, String)>,
    },
    /// The node does not host the shard: the client's map is stale.
    WrongShard,
    /// The server could not serve now (no quorum, shutting down); try again later.
    Unavailable(String),
    /// The request is malformed; it was not applied.
    InvalidArgument(String),
    /// Sent, but the answer was lost (connection dropped, deadline on the wire): the
    /// outcome is unknown.
    Lost(String),
    /// The server reported data loss.
    Corruption(String),
    /// An answer this client does not understand.
    Protocol(String),
}

/// Classifies `status`.
pub(crate) fn classify(status: &tonic::Status) -> Failure {
    let detail = match from_status(status) {
        Ok(detail) => detail,
        Err(err) => return Failure::Protocol(err.to_string()),
    };
    match detail.and_then(|d| d.kind) {
        Some(Kind::NotLeader(nl)) => Failure::NotLeader {
            shard: ShardId(nl.shard),
            hint: nl.leader_hint.map(|h| (NodeId(h.node_id), h.address)),
        },
        Some(Kind::WrongShard(_)) => Failure::WrongShard,
        Some(Kind::Unavailable(u)) => Failure::Unavailable(u.reason),
        Some(Kind::InvalidArgument(i)) => Failure::InvalidArgument(i.reason),
        None => classify_code(status),
    }
}

fn classify_code(status: &tonic::Status) -> Failure {
    let message = format!("{:?}: {}", status.code(), status.message());
    // Statuses made on this side of the wire (transport failures) carry their cause as a
    // source; statuses a server sent never do.
    let local = std::error::Error::source(status).is_some();
    match status.code() {
        Code::DeadlineExceeded | Code::Cancelled | Code::Unavailable | Code::Aborted => {
            Failure::Lost(message)
        }
        Code::Unknown | Code::Internal if local => Failure::Lost(message),
        Code::DataLoss => Failure::Corruption(message),
        Code::InvalidArgument | Code::OutOfRange | Code::ResourceExhausted => {
            Failure::InvalidArgument(message)
        }
        _ => Failure::Protocol(message),
    }
}

#[cfg(test)]
mod tests {
    use dougdb_proto::error_detail::to_status;
    use dougdb_proto::v1::ErrorDetail;

    use super::*;

    #[test]
    fn details_decide_and_bare_codes_fall_back_sensibly() {
        let nl = to_status(&ErrorDetail::not_leader(3, Some((2, "h:1".into()))), "x");
        assert_eq!(
            classify(&nl),
            Failure::NotLeader {
                shard: ShardId(3),
                hint: Some((NodeId(2), "h:1".into()))
            }
        );
        let ws = to_status(&ErrorDetail::wrong_shard(1), "x");
        assert_eq!(classify(&ws), Failure::WrongShard);
        let inv = to_status(&ErrorDetail::invalid_argument("empty key"), "x");
        assert_eq!(classify(&inv), Failure::InvalidArgument("empty key".into()));
        let un = to_status(&ErrorDetail::unavailable("no quorum"), "x");
        assert_eq!(classify(&un), Failure::Unavailable("no quorum".into()));
        assert!(matches!(
            classify(&tonic::Status::deadline_exceeded("slow")),
            Failure::Lost(_)
        ));
        assert!(matches!(
            classify(&tonic::Status::data_loss("crc")),
            Failure::Corruption(_)
        ));
        assert!(matches!(
            classify(&tonic::Status::internal("bug")),
            Failure::Protocol(_)
        ));
    }
}
