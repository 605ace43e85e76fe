//! The client-facing gRPC services of a node: [`DougService`] (`dougdb.v1.Doug`) and
//! [`AdminService`] (`dougdb.v1.Admin`). Errors become a `tonic::Status` here and only
//! here ([`status_of`]), with a typed `ErrorDetail`.

mod admin;
mod doug;

pub use admin::AdminService;
pub use doug::DougService;

use dougdb_proto::error_detail::to_status;
use dougdb_proto::v1::ErrorDetail;
use tonic::Status;

use crate::error::Error;
use crate::node::Node;

/// The gRPC status of `e` (typed detail for the errors a client acts on).
pub fn status_of(node: &Node, e: &Error) -> Status {
    let detail = match e {
        Error::NotLeader { shard, leader_hint } => ErrorDetail::not_leader(
            *shard,
            leader_hint.map(|id| (id, node.cluster.address(id).unwrap_or_default())),
        ),
        Error::WrongShard { shard } => ErrorDetail::wrong_shard(*shard),
        Error::Unavailable { reason } => ErrorDetail::unavailable(reason.clone()),
        Error::InvalidArgument { reason } => ErrorDetail::invalid_argument(reason.clone()),
        // Damaged bytes on this node's disk: DATA_LOSS (the client's Corruption), never
        // a value. Other replicas may still answer.
        Error::Storage { source } if source.is_corruption() => {
            tracing::error!(node = node.id, error = %source, "corrupt data on disk");
            return Status::data_loss(e.to_string());
        }
        other => {
            tracing::error!(node = node.id, error = %other, "internal error");
            return Status::internal(other.to_string());
        }
    };
    to_status(&detail, e.to_string())
}
