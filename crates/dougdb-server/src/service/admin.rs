//! `dougdb.v1.Admin` on a node: per-replica status, leader transfer, and the link fault
//! controls (only on a node started with fault injection), membership changes (one at a
//! time, answered once the change is applied; an added node's address rides in the
//! change's context so every replica can reach it).

use std::sync::Arc;
use std::time::{Duration, Instant};

use dougdb_proto::v1::admin_server::Admin;
use dougdb_proto::v1::{self, ErrorDetail};
use dougdb_raft::{ConfChange, ConfChangeKind, NodeId, ProgressState, Role, Status as RaftStatus};
use prost::Message as _;
use tonic::{Code, Request, Response, Status};

use super::status_of;
use crate::node::Node;
use crate::raft_wire::conf_state_to_proto;
use crate::transport::Way;

/// The Admin service of one node.
#[derive(Debug, Clone)]
pub struct AdminService {
    node: Arc<Node>,
}

fn role(r: Role) -> v1::Role {
    match r {
        Role::Follower => v1::Role::Follower,
        Role::PreCandidate => v1::Role::PreCandidate,
        Role::Candidate => v1::Role::Candidate,
        Role::Leader => v1::Role::Leader,
    }
}

fn replica_status(shard: u64, s: RaftStatus, snapshot_index: u64) -> v1::ReplicaStatus {
    v1::ReplicaStatus {
        shard,
        node_id: s.id.0,
        role: role(s.role) as i32,
        term: s.term.0,
        vote: s.vote.map(|n| n.0),
        leader: s.leader.map(|n| n.0),
        commit_index: s.commit.0,
        applied_index: s.applied.0,
        snapshot_index,
        first_index: s.first_index.0,
        last_index: s.last_index.0,
        conf_state: Some(conf_state_to_proto(&s.conf_state)),
        lead_transferee: s.lead_transferee.map(|n| n.0),
        progress: s
            .progress
            .iter()
            .map(|(id, p)| v1::PeerProgress {
                node_id: id.0,
                matched: p.matched.0,
                next: p.next.0,
                state: match p.state {
                    ProgressState::Probe => v1::ProgressState::Probe,
                    ProgressState::Replicate => v1::ProgressState::Replicate,
                    ProgressState::Snapshot => v1::ProgressState::Snapshot,
                } as i32,
                inflight_msgs: p.inflight_msgs as u64,
                inflight_bytes: p.inflight_bytes,
                recent_active: p.recent_active,
                is_learner: p.is_learner,
            })
            .collect(),
    }
}

impl AdminService {
    /// A service over `node`.
    pub fn new(node: Arc<Node>) -> AdminService {
        AdminService { node }
    }

    fn faults_enabled(&self) -> Result<(), Status> {
        if self.node.faults.enabled() {
            return Ok(());
        }
        let detail = ErrorDetail::invalid_argument("fault injection is not enabled on this node");
        Err(Status::with_details(
            Code::FailedPrecondition,
            "fault injection is not enabled on this node (start it with --fault-injection)",
            detail.encode_to_vec().into(),
        ))
    }

    async fn membership(
        &self,
        shard: u64,
        change: ConfChange,
    ) -> Result<Response<v1::MembershipResponse>, Status> {
        let err = |e| status_of(&self.node, &e);
        let r = self.node.replica(shard).map_err(err)?;
        let (index, conf) = r
            .conf_change(change, self.node.request_timeout)
            .await
            .map_err(err)?;
        Ok(Response::new(v1::MembershipResponse {
            index,
            conf_state: Some(conf_state_to_proto(&conf)),
        }))
    }

    fn fault_table(&self) -> Response<v1::FaultResponse> {
        let links = self
            .node
            .faults
            .links()
            .into_iter()
            .map(|(peer, f)| v1::LinkFault {
                peer,
                inbound_cut: f.inbound_cut,
                outbound_cut: f.outbound_cut,
                drop_per_million: f.drop_per_million,
            })
            .collect();
        Response::new(v1::FaultResponse { links })
    }
}

fn change(kind: ConfChangeKind, node: u64, context: Vec<u8>) -> ConfChange {
    ConfChange {
        kind,
        node: NodeId(node),
        context,
    }
}

#[tonic::async_trait]
impl Admin for AdminService {
    async fn status(
        &self,
        req: Request<v1::StatusRequest>,
    ) -> Result<Response<v1::StatusResponse>, Status> {
        let wanted = req.into_inner().shards;
        let mut replicas = Vec::new();
        for (shard, r) in &self.node.replicas {
            if !wanted.is_empty() && !wanted.contains(shard) {
                continue;
            }
            let (s, snap) = r
                .status(self.node.request_timeout)
                .await
                .map_err(|e| status_of(&self.node, &e))?;
            replicas.push(replica_status(*shard, s, snap));
        }
        Ok(Response::new(v1::StatusResponse {
            node_id: self.node.id,
            cluster_id: self.node.cluster.cluster_id(),
            fault_injection: self.node.faults.enabled(),
            replicas,
        }))
    }

    async fn add_learner(
        &self,
        req: Request<v1::AddLearnerRequest>,
    ) -> Result<Response<v1::MembershipResponse>, Status> {
        let req = req.into_inner();
        if req.address.is_empty() {
            let d = ErrorDetail::invalid_argument("AddLearner needs the node's address");
            return Err(dougdb_proto::error_detail::to_status(&d, "missing address"));
        }
        let change = change(
            ConfChangeKind::AddLearner,
            req.node_id,
            req.address.into_bytes(),
        );
        self.membership(req.shard, change).await
    }

    async fn promote(
        &self,
        req: Request<v1::PromoteRequest>,
    ) -> Result<Response<v1::MembershipResponse>, Status> {
        let req = req.into_inner();
        let change = change(ConfChangeKind::AddVoter, req.node_id, Vec::new());
        self.membership(req.shard, change).await
    }

    async fn remove_member(
        &self,
        req: Request<v1::RemoveMemberRequest>,
    ) -> Result<Response<v1::MembershipResponse>, Status> {
        let req = req.into_inner();
        let change = change(ConfChangeKind::RemoveNode, req.node_id, Vec::new());
        self.membership(req.shard, change).await
    }

    async fn transfer_leader(
        &self,
        req: Request<v1::TransferLeaderRequest>,
    ) -> Result<Response<v1::TransferLeaderResponse>, Status> {
        let req = req.into_inner();
        let err = |e| status_of(&self.node, &e);
        let r = self.node.replica(req.shard).map_err(err)?;
        r.transfer_leader(req.target, self.node.request_timeout)
            .await
            .map_err(err)?;
        // The transfer finishes (or is abandoned) within an election timeout or so.
        let deadline = Instant::now() + Duration::from_secs(3);
        while r.leader() != Some(req.target) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(Response::new(v1::TransferLeaderResponse {
            leader: r.leader(),
        }))
    }

    async fn partition(
        &self,
        req: Request<v1::PartitionRequest>,
    ) -> Result<Response<v1::FaultResponse>, Status> {
        self.faults_enabled()?;
        self.node.faults.partition(&req.into_inner().peers);
        Ok(self.fault_table())
    }

    async fn cut(
        &self,
        req: Request<v1::CutRequest>,
    ) -> Result<Response<v1::FaultResponse>, Status> {
        self.faults_enabled()?;
        let req = req.into_inner();
        let way = match v1::Direction::try_from(req.direction) {
            Ok(v1::Direction::Inbound) => Way::Inbound,
            Ok(v1::Direction::Outbound) => Way::Outbound,
            _ => Way::Both,
        };
        self.node.faults.cut(req.peer, way);
        Ok(self.fault_table())
    }

    async fn heal(
        &self,
        req: Request<v1::HealRequest>,
    ) -> Result<Response<v1::FaultResponse>, Status> {
        self.faults_enabled()?;
        self.node.faults.heal(&req.into_inner().peers);
        Ok(self.fault_table())
    }

    async fn drop_rate(
        &self,
        req: Request<v1::DropRateRequest>,
    ) -> Result<Response<v1::FaultResponse>, Status> {
        self.faults_enabled()?;
        let req = req.into_inner();
        self.node.faults.drop_rate(req.peer, req.drop_per_million);
        Ok(self.fault_table())
    }
}
