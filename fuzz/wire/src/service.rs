//! What `dougdb-server`'s `Doug` service does with a decoded write request before
//! proposing it: the request becomes a [`Command`] (field for field), which
//! `ReplicaHandle::propose` checks against the [`Limits`] and encodes.
//!
//! The field mapping is a *mirror* of `put_rpc`, `delete_rpc`, `cas_rpc`, `batch_rpc` and
//! `tag` in crates/dougdb-server/src/service/doug.rs: there it is written inline in async
//! methods of a service that needs a running node, so it cannot be compiled here. Keep the
//! two in step (fuzz/README.md says how to retire this copy).

use dougdb_proto::v1::{self, batch_op};

use crate::error::{Error, Result};
use crate::state_machine::command::{BatchOp, Command, Op, WriteTag};
use crate::state_machine::limits::Limits;

/// The exactly-once tag of a request (`tag` in doug.rs): absent is untagged.
pub fn tag(t: Option<v1::WriteTag>) -> WriteTag {
    t.map(|t| WriteTag {
        client_id: t.client_id,
        sequence: t.sequence,
    })
    .unwrap_or_default()
}

/// `put_rpc`'s command.
pub fn put(req: v1::PutRequest) -> Command {
    let op = Op::Put {
        key: req.key.to_vec(),
        value: req.value.to_vec(),
    };
    Command {
        tag: tag(req.tag),
        op,
    }
}

/// `delete_rpc`'s command.
pub fn delete(req: v1::DeleteRequest) -> Command {
    let op = Op::Delete {
        key: req.key.to_vec(),
    };
    Command {
        tag: tag(req.tag),
        op,
    }
}

/// `cas_rpc`'s command.
pub fn cas(req: v1::CasRequest) -> Command {
    let op = Op::Cas {
        key: req.key.to_vec(),
        expected: req.expected.map(|b| b.to_vec()),
        new_value: req.new_value.map(|b| b.to_vec()),
    };
    Command {
        tag: tag(req.tag),
        op,
    }
}

/// `batch_rpc`'s command; an op with neither put nor delete is refused.
pub fn batch(req: v1::BatchRequest) -> Result<Command> {
    let mut ops = Vec::with_capacity(req.ops.len());
    for op in req.ops {
        ops.push(match op.op {
            Some(batch_op::Op::Put(p)) => BatchOp::Put {
                key: p.key.to_vec(),
                value: p.value.to_vec(),
            },
            Some(batch_op::Op::Delete(d)) => BatchOp::Delete {
                key: d.key.to_vec(),
            },
            None => {
                return Err(Error::InvalidArgument {
                    reason: "batch op without put or delete".into(),
                });
            }
        });
    }
    Ok(Command {
        tag: tag(req.tag),
        op: Op::Batch(ops),
    })
}

/// What `ReplicaHandle::propose` does before handing the command to Raft: the limits
/// check, then the encoding that becomes the entry's data.
pub fn proposal(cmd: &Command, limits: &Limits) -> Result<Vec<u8>> {
    limits.check(cmd)?;
    Ok(cmd.encode())
}
