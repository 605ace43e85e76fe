//! Node-to-node Raft transport: per-peer outbound links ([`link`]) behind bounded queues,
//! the `Raft` gRPC service that feeds inbound messages to the replicas ([`server`]), and
//! the fault-injection table ([`faults`]) both consult.

pub mod faults;
pub mod link;
pub mod server;

use std::collections::HashMap;
use std::sync::Arc;

use dougdb_raft::Message;
use parking_lot::{Mutex, RwLock};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub use faults::{Faults, LinkFault, Way};
pub use link::{LinkEnds, LinkLimits};
pub use server::{Deliver, RaftService};

/// A message on its way to a peer: (shard, message).
pub type Outgoing = (u64, Message);

/// Messages queued per peer before new ones are dropped.
pub const PEER_QUEUE_MSGS_MAX: usize = 4096;

/// The outbound side: one bounded queue and link task per peer. Peers can be added at
/// run time (a member added to a shard brings its address in the conf change).
#[derive(Debug)]
pub struct Transport {
    cluster_id: u64,
    me: u64,
    limits: LinkLimits,
    queues: RwLock<HashMap<u64, mpsc::Sender<Outgoing>>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    faults: Arc<Faults>,
}

impl Transport {
    /// Starts one link task per peer (`peers`: id and address; this node is skipped).
    pub fn start(
        cluster_id: u64,
        me: u64,
        peers: &[(u64, String)],
        limits: LinkLimits,
        faults: Arc<Faults>,
    ) -> Arc<Transport> {
        let t = Arc::new(Transport {
            cluster_id,
            me,
            limits,
            queues: RwLock::new(HashMap::new()),
            tasks: Mutex::new(Vec::new()),
            faults,
        });
        for (id, address) in peers {
            t.add_peer(*id, address);
        }
        t
    }

    /// Starts a link to `id` at `address` unless there is one (or `id` is this node).
    pub fn add_peer(&self, id: u64, address: &str) {
        if id == self.me || self.queues.read().contains_key(&id) {
            return;
        }
        let (tx, rx) = mpsc::channel(PEER_QUEUE_MSGS_MAX);
        let ends = LinkEnds {
            cluster_id: self.cluster_id,
            from: self.me,
            to: id,
            address: address.to_owned(),
        };
        self.tasks
            .lock()
            .push(tokio::spawn(link::run(ends, self.limits, rx)));
        self.queues.write().insert(id, tx);
    }

    /// Stops every link task.
    pub fn stop(&self) {
        for t in self.tasks.lock().drain(..) {
            t.abort();
        }
    }

    /// Queues `msgs` of `shard` for their peers; never waits. Messages to unknown peers,
    /// to cut links, or to full queues are dropped.
    pub fn send(&self, shard: u64, msgs: Vec<Message>) {
        let queues = self.queues.read();
        for m in msgs {
            let peer = m.to.0;
            if !self.faults.allow_outbound(peer) {
                continue;
            }
            match queues.get(&peer) {
                Some(q) => {
                    if q.try_send((shard, m)).is_err() {
                        tracing::debug!(peer, shard, "peer queue full; message dropped");
                    }
                }
                None => tracing::debug!(peer, shard, "message to unknown peer dropped"),
            }
        }
    }
}
