//! `dougdb.v1.Admin` calls for `LocalCluster`: replica status (many nodes at once, each
//! bounded by a short deadline so a paused node cannot stall a status table) and the
//! fault-injection controls. Each call opens its own channel: these are rare, and a fresh
//! connection cannot be poisoned by a node that was killed and restarted.

use std::time::Duration;

use dougdb_client::Error;
use dougdb_proto::v1::admin_client::AdminClient;
use dougdb_proto::v1::{self, Role};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use tonic::transport::{Channel, Endpoint};

use crate::client::seconds;
use crate::errors::to_py;
use crate::runtime::wait;

/// An Admin client of `address`, connected within `budget`.
async fn connect(address: &str, budget: Duration) -> Result<AdminClient<Channel>, Error> {
    let unreachable = |reason: String| Error::Connection {
        endpoints: vec![address.to_string()],
        reason,
    };
    let endpoint = Endpoint::from_shared(format!("http://{address}"))
        .map_err(|err| Error::InvalidArgument {
            reason: format!("bad node address {address:?}: {err}"),
        })?
        .connect_timeout(budget)
        .timeout(budget);
    match tokio::time::timeout(budget, endpoint.connect()).await {
        Ok(Ok(channel)) => Ok(AdminClient::new(channel)),
        Ok(Err(err)) => Err(unreachable(chain(&err))),
        Err(_) => Err(Error::Timeout { deadline: budget }),
    }
}

/// `err` and its sources, joined (tonic's own message is only "transport error").
fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

/// A failed Admin RPC as a client error, so that one function maps errors to Python.
fn from_status(address: &str, budget: Duration, status: &tonic::Status) -> Error {
    match status.code() {
        tonic::Code::DeadlineExceeded | tonic::Code::Cancelled => {
            Error::Timeout { deadline: budget }
        }
        tonic::Code::Unavailable => Error::Connection {
            endpoints: vec![address.to_string()],
            reason: chain(status),
        },
        // Fault injection disabled on the node, or a bad request.
        tonic::Code::FailedPrecondition | tonic::Code::InvalidArgument => Error::InvalidArgument {
            reason: format!("{address}: {}", status.message()),
        },
        _ => Error::Protocol {
            reason: format!("{address}: {:?}: {}", status.code(), status.message()),
        },
    }
}

/// Runs one Admin RPC on `address` under `budget`.
async fn call<T, F, Fut>(address: String, budget: Duration, rpc: F) -> Result<T, Error>
where
    F: FnOnce(AdminClient<Channel>) -> Fut,
    Fut: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
{
    let client = connect(&address, budget).await?;
    match tokio::time::timeout(budget, rpc(client)).await {
        Ok(Ok(response)) => Ok(response.into_inner()),
        Ok(Err(status)) => Err(from_status(&address, budget, &status)),
        Err(_) => Err(Error::Timeout { deadline: budget }),
    }
}

fn role_name(role: i32) -> &'static str {
    match Role::try_from(role) {
        Ok(Role::Leader) => "leader",
        Ok(Role::Follower) => "follower",
        Ok(Role::Candidate) => "candidate",
        Ok(Role::PreCandidate) => "pre_candidate",
        _ => "unknown",
    }
}

fn status_dict<'py>(py: Python<'py>, status: &v1::StatusResponse) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    out.set_item("node_id", status.node_id)?;
    out.set_item("cluster_id", status.cluster_id)?;
    out.set_item("fault_injection", status.fault_injection)?;
    let mut replicas = Vec::with_capacity(status.replicas.len());
    for r in &status.replicas {
        let d = PyDict::new(py);
        d.set_item("shard", r.shard)?;
        d.set_item("node", r.node_id)?;
        d.set_item("role", role_name(r.role))?;
        d.set_item("term", r.term)?;
        d.set_item("leader", r.leader)?;
        d.set_item("commit_index", r.commit_index)?;
        d.set_item("applied_index", r.applied_index)?;
        d.set_item("snapshot_index", r.snapshot_index)?;
        d.set_item("first_index", r.first_index)?;
        d.set_item("last_index", r.last_index)?;
        let conf = r.conf_state.clone().unwrap_or_default();
        d.set_item("voters", conf.voters)?;
        d.set_item("learners", conf.learners)?;
        replicas.push(d);
    }
    out.set_item("replicas", replicas)?;
    Ok(out)
}

/// `Admin/Status` of every address at once; `None` for a node that did not answer within
/// `timeout` seconds (killed, paused, not started yet).
#[pyfunction]
pub(crate) fn admin_status<'py>(
    py: Python<'py>,
    addresses: Vec<String>,
    timeout: f64,
) -> PyResult<Vec<Option<Bound<'py, PyDict>>>> {
    let budget = seconds("timeout", timeout)?;
    let answers = wait(py, async move {
        let calls = addresses.into_iter().map(|address| {
            call(address, budget, |mut c| async move {
                c.status(v1::StatusRequest { shards: Vec::new() }).await
            })
        });
        futures::future::join_all(calls).await
    })?;
    answers
        .into_iter()
        .map(|answer| answer.ok().map(|s| status_dict(py, &s)).transpose())
        .collect()
}

/// Drops all Raft traffic between the node at `address` and `peers`, both ways (added to
/// the node's current faults).
#[pyfunction]
pub(crate) fn admin_partition(
    py: Python<'_>,
    address: String,
    peers: Vec<u64>,
    timeout: f64,
) -> PyResult<()> {
    let budget = seconds("timeout", timeout)?;
    wait(py, async move {
        call(address, budget, |mut c| async move {
            c.partition(v1::PartitionRequest { peers }).await
        })
        .await
    })?
    .map(|_| ())
    .map_err(to_py)
}

/// Drops Raft traffic between the node at `address` and `peer`, both ways.
#[pyfunction]
pub(crate) fn admin_cut(py: Python<'_>, address: String, peer: u64, timeout: f64) -> PyResult<()> {
    let budget = seconds("timeout", timeout)?;
    wait(py, async move {
        call(address, budget, |mut c| async move {
            c.cut(v1::CutRequest {
                peer,
                direction: v1::Direction::Both as i32,
            })
            .await
        })
        .await
    })?
    .map(|_| ())
    .map_err(to_py)
}

/// Removes the faults towards `peers` on the node at `address` (every fault when empty).
#[pyfunction]
pub(crate) fn admin_heal(
    py: Python<'_>,
    address: String,
    peers: Vec<u64>,
    timeout: f64,
) -> PyResult<()> {
    let budget = seconds("timeout", timeout)?;
    wait(py, async move {
        call(address, budget, |mut c| async move {
            c.heal(v1::HealRequest { peers }).await
        })
        .await
    })?
    .map(|_| ())
    .map_err(to_py)
}
