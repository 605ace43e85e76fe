//! How a typed [`ErrorDetail`] travels in a `tonic::Status`.
//!
//! The status `details` (sent as the `grpc-status-details-bin` trailer) hold exactly one
//! protobuf-encoded `dougdb.v1.ErrorDetail` — not a `google.rpc.Status` — and the code
//! follows from the detail's kind:
//!
//! | detail | code |
//! |---|---|
//! | `NotLeader { shard, leader_hint }` | `FAILED_PRECONDITION` |
//! | `WrongShard { shard }` | `FAILED_PRECONDITION` |
//! | `Unavailable { reason }` | `UNAVAILABLE` |
//! | `InvalidArgument { reason }` | `INVALID_ARGUMENT` |
//!
//! Receivers decide on the detail, never on the code alone: a status with empty details
//! (deadline, transport failure, a proxy's error) carries no detail.

use bytes::Bytes;
use prost::Message;

use crate::error::Error;
use crate::v1::error_detail::Kind;
use crate::v1::{ErrorDetail, InvalidArgument, LeaderHint, NotLeader, Unavailable, WrongShard};

impl ErrorDetail {
    /// `NotLeader`; `leader_hint` is `(node id, address)` when a leader is known.
    pub fn not_leader(shard: u64, leader_hint: Option<(u64, String)>) -> ErrorDetail {
        let leader_hint = leader_hint.map(|(node_id, address)| LeaderHint { node_id, address });
        ErrorDetail {
            kind: Some(Kind::NotLeader(NotLeader { shard, leader_hint })),
        }
    }

    /// `WrongShard`.
    pub fn wrong_shard(shard: u64) -> ErrorDetail {
        ErrorDetail {
            kind: Some(Kind::WrongShard(WrongShard { shard })),
        }
    }

    /// `Unavailable`.
    pub fn unavailable(reason: impl Into<String>) -> ErrorDetail {
        ErrorDetail {
            kind: Some(Kind::Unavailable(Unavailable {
                reason: reason.into(),
            })),
        }
    }

    /// `InvalidArgument`.
    pub fn invalid_argument(reason: impl Into<String>) -> ErrorDetail {
        ErrorDetail {
            kind: Some(Kind::InvalidArgument(InvalidArgument {
                reason: reason.into(),
            })),
        }
    }

    /// The gRPC code that goes with this detail (`UNKNOWN` for an empty detail).
    pub fn code(&self) -> tonic::Code {
        match &self.kind {
            Some(Kind::NotLeader(_)) | Some(Kind::WrongShard(_)) => tonic::Code::FailedPrecondition,
            Some(Kind::Unavailable(_)) => tonic::Code::Unavailable,
            Some(Kind::InvalidArgument(_)) => tonic::Code::InvalidArgument,
            None => tonic::Code::Unknown,
        }
    }
}

/// A status carrying `detail`, with the code from [`ErrorDetail::code`].
pub fn to_status(detail: &ErrorDetail, message: impl Into<String>) -> tonic::Status {
    tonic::Status::with_details(detail.code(), message, Bytes::from(detail.encode_to_vec()))
}

/// The detail carried by `status`: `Ok(None)` when it has none, an error when its details
/// are not an `ErrorDetail`.
pub fn from_status(status: &tonic::Status) -> Result<Option<ErrorDetail>, Error> {
    let details = status.details();
    if details.is_empty() {
        return Ok(None);
    }
    ErrorDetail::decode(details)
        .map(Some)
        .map_err(|source| Error::BadErrorDetail {
            code: status.code(),
            source,
        })
}
