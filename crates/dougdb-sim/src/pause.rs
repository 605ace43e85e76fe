//! Paused nodes: a process stopped (SIGSTOP, a VM pause) that keeps its state and its
//! sockets. While paused a node gets no ticks, runs no requests and processes no
//! messages: messages to it are held, in order. On resume it first catches its clock up
//! with the time that went by (as the DougDB replica loop does, at most
//! `MAX_CATCH_UP_TICKS`), then serves the requests of that step, and only then gets the
//! held messages: the order in which a resumed old leader could answer a read before it
//! learns that a new leader was elected.

use std::collections::BTreeMap;

use dougdb_raft::{Message, NodeId};

use crate::clock::Tick;
use crate::cluster::Cluster;
use crate::invariants::Violation;

/// Most ticks a resumed node catches up at once (the replica loop's bound).
pub const MAX_CATCH_UP_TICKS: u64 = 64;

/// Nodes paused now and the messages held for them.
#[derive(Debug, Default)]
pub struct Paused {
    /// Paused node -> (paused at, resumes at).
    nodes: BTreeMap<NodeId, (Tick, Tick)>,
    /// Messages that arrived while their receiver was paused: (from, to, message).
    held: Vec<(NodeId, NodeId, Message)>,
}

impl Paused {
    /// Whether `id` is paused.
    pub fn contains(&self, id: NodeId) -> bool {
        self.nodes.contains_key(&id)
    }

    /// Holds a message for a paused receiver.
    pub fn hold(&mut self, from: NodeId, to: NodeId, m: Message) {
        self.held.push((from, to, m));
    }

    /// Forgets `id` (it crashed: its held messages died with its sockets).
    pub fn forget(&mut self, id: NodeId) {
        self.nodes.remove(&id);
        self.held.retain(|(_, to, _)| *to != id);
    }
}

impl Cluster {
    /// Pauses `id` (running, not already paused) until `until`.
    pub fn pause(&mut self, id: NodeId, until: Tick) {
        let up = self.nodes.get(&id).is_some_and(|n| n.is_up());
        if up && !self.paused.contains(id) {
            let now = self.now();
            self.paused.nodes.insert(id, (now, until));
            self.stats.pauses += 1;
        }
    }

    /// Resumes every paused node whose time is up (all of them with `all`): catch-up
    /// ticks now; the held messages go back on the network, due from now on.
    pub fn resume_due(&mut self, all: bool) -> Result<(), Violation> {
        let now = self.now();
        let due: Vec<(NodeId, Tick)> = self
            .paused
            .nodes
            .iter()
            .filter(|(_, (_, until))| all || *until <= now)
            .map(|(id, (since, _))| (*id, *since))
            .collect();
        for (id, since) in due {
            self.paused.nodes.remove(&id);
            let missed = (now.0 - since.0).min(MAX_CATCH_UP_TICKS);
            for _ in 0..missed {
                if let Some(raft) = self.nodes.get_mut(&id).and_then(|n| n.raft.as_mut()) {
                    raft.tick().map_err(|e| format!("{id} tick: {e}"))?;
                    self.drain_ready(id)?;
                }
            }
            let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.paused.held)
                .into_iter()
                .partition(|(_, to, _)| *to == id);
            self.paused.held = rest;
            for (from, to, m) in mine {
                self.net.send(now, from, to, m, &mut self.net_rng);
            }
        }
        Ok(())
    }
}
