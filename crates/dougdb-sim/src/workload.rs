//! The client workload: a few clients, each with at most one operation outstanding, issue
//! puts, cas and reads (through the log or through ReadIndex) against whichever node they
//! believe leads. Every invocation and completion is recorded in the `History`. A client
//! that hears nothing before its deadline, or whose node crashed, records `info`.

use std::collections::BTreeMap;

use dougdb_raft::{LogIndex, NodeId};

use crate::clock::Tick;
use crate::history::{History, OpId};
use crate::kv::{ClientId, Command, Key, KvOp, KvOutput, KvStore, Value};
use crate::rng::SimRng;

/// Shape of the workload.
#[derive(Clone, Debug)]
pub struct WorkloadConfig {
    /// Number of clients.
    pub clients: u32,
    /// Number of keys (few keys, more contention).
    pub keys: u8,
    /// Probability an idle client starts an operation on a given tick.
    pub start_p: f64,
    /// Ticks a client waits for an answer before recording `info`.
    pub timeout_ticks: u64,
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        WorkloadConfig {
            clients: 4,
            keys: 3,
            start_p: 0.3,
            timeout_ticks: 60,
        }
    }
}

/// What a client asks the cluster to do on its behalf.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// `propose(cmd.encode())` on `node`.
    Propose {
        /// Target node.
        node: NodeId,
        /// The command.
        cmd: Command,
    },
    /// `read_index(context)` on `node`, then read `key` locally once applied.
    ReadIndex {
        /// Target node.
        node: NodeId,
        /// The key to read.
        key: Key,
        /// ReadIndex context identifying the request.
        context: Vec<u8>,
    },
}

#[derive(Clone, Debug)]
enum Waiting {
    /// Proposed at `index` (if the node said) and waiting for it to be applied.
    Apply { index: Option<LogIndex> },
    /// Waiting for the ReadState.
    ReadState,
    /// Read confirmed at `index`: waiting for the node to apply that far.
    Applied { index: LogIndex },
}

#[derive(Clone, Debug)]
struct Pending {
    op: OpId,
    kv_op: KvOp,
    request: u64,
    node: NodeId,
    deadline: Tick,
    waiting: Waiting,
}

#[derive(Clone, Debug)]
struct Client {
    id: ClientId,
    next_request: u64,
    next_value: u64,
    leader_guess: Option<NodeId>,
    last_read: BTreeMap<Key, Value>,
    pending: Option<Pending>,
}

/// All clients and the history they produce.
#[derive(Debug)]
pub struct Workload {
    cfg: WorkloadConfig,
    clients: Vec<Client>,
    history: History,
    rng: SimRng,
}

/// Encodes a ReadIndex context: client then request, little-endian.
fn read_context(client: ClientId, request: u64) -> Vec<u8> {
    let mut v = client.0.to_le_bytes().to_vec();
    v.extend_from_slice(&request.to_le_bytes());
    v
}

fn parse_context(ctx: &[u8]) -> Option<(ClientId, u64)> {
    let c = u32::from_le_bytes(ctx.get(0..4)?.try_into().ok()?);
    let r = u64::from_le_bytes(ctx.get(4..12)?.try_into().ok()?);
    Some((ClientId(c), r))
}

impl Workload {
    /// Clients with nothing outstanding.
    pub fn new(cfg: WorkloadConfig, rng: SimRng) -> Workload {
        let clients = (0..cfg.clients)
            .map(|i| Client {
                id: ClientId(i),
                next_request: 1,
                next_value: 1,
                leader_guess: None,
                last_read: BTreeMap::new(),
                pending: None,
            })
            .collect();
        Workload {
            cfg,
            clients,
            history: History::new(),
            rng,
        }
    }

    /// The history so far.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// Ends the run: outstanding operations become `info`; returns the history.
    pub fn finish(mut self, now: Tick) -> History {
        self.history.close(now.0);
        self.history
    }

    /// Whether any client still waits for an answer.
    pub fn has_pending(&self) -> bool {
        self.clients.iter().any(|c| c.pending.is_some())
    }

    /// Idle clients that decide to act now invoke an operation; returns the requests to
    /// carry out, in client order. `nodes` are the nodes a client may contact.
    pub fn start_ops(&mut self, now: Tick, nodes: &[NodeId]) -> Vec<(ClientId, Request)> {
        let mut out = Vec::new();
        for ci in 0..self.clients.len() {
            if self.clients[ci].pending.is_some() || !self.rng.chance(self.cfg.start_p) {
                continue;
            }
            if let Some(req) = self.start_one(ci, now, nodes) {
                out.push((self.clients[ci].id, req));
            }
        }
        out
    }

    fn start_one(&mut self, ci: usize, now: Tick, nodes: &[NodeId]) -> Option<Request> {
        let key = Key(self.rng.range(0, u64::from(self.cfg.keys)) as u8);
        let random_node = *self.rng.pick(nodes)?;
        let explore = self.rng.chance(0.15);
        let roll = self.rng.range(0, 100);
        let c = self.clients.get_mut(ci)?;
        let node = match c.leader_guess {
            Some(n) if !explore && nodes.contains(&n) => n,
            _ => random_node,
        };
        let request = c.next_request;
        c.next_request += 1;
        let mut fresh = || {
            let v = Value((u64::from(c.id.0) + 1) << 32 | c.next_value);
            c.next_value += 1;
            v
        };
        let (kv_op, read_index) = match roll {
            0..35 => (
                KvOp::Put {
                    key,
                    value: fresh(),
                },
                false,
            ),
            35..60 => {
                let expected = c.last_read.get(&key).copied().unwrap_or(Value::ABSENT);
                let new = fresh();
                (KvOp::Cas { key, expected, new }, false)
            }
            60..80 => (KvOp::Get { key }, false),
            _ => (KvOp::Get { key }, true),
        };
        let op = self.history.invoke(c.id, kv_op, now.0);
        let waiting = if read_index {
            Waiting::ReadState
        } else {
            Waiting::Apply { index: None }
        };
        c.pending = Some(Pending {
            op,
            kv_op,
            request,
            node,
            deadline: now.plus(self.cfg.timeout_ticks),
            waiting,
        });
        Some(if read_index {
            Request::ReadIndex {
                node,
                key,
                context: read_context(c.id, request),
            }
        } else {
            Request::Propose {
                node,
                cmd: Command {
                    client: c.id,
                    request,
                    op: kv_op,
                },
            }
        })
    }

    fn client_mut(&mut self, id: ClientId) -> Option<&mut Client> {
        self.clients.get_mut(id.0 as usize)
    }

    /// The node accepted the proposal at `index`.
    pub fn accepted(&mut self, client: ClientId, index: LogIndex) {
        if let Some(p) = self.client_mut(client).and_then(|c| c.pending.as_mut())
            && let Waiting::Apply { index: i } = &mut p.waiting
        {
            *i = Some(index);
        }
    }

    /// The node refused the request outright: it had no effect. `hint` is a better node.
    pub fn rejected(&mut self, client: ClientId, hint: Option<NodeId>, now: Tick) {
        let Some(c) = self.client_mut(client) else {
            return;
        };
        c.leader_guess = hint;
        if let Some(p) = c.pending.take() {
            self.history.fail(p.op, now.0);
        }
    }

    /// `node` applied the entry at `index` carrying `cmd` (when it decodes) with `output`.
    pub fn applied(
        &mut self,
        node: NodeId,
        index: LogIndex,
        cmd: Option<&Command>,
        output: Option<KvOutput>,
        now: Tick,
    ) {
        for c in &mut self.clients {
            let Some(p) = &c.pending else { continue };
            if p.node != node {
                continue;
            }
            let Waiting::Apply { index: proposed } = p.waiting else {
                continue;
            };
            let ours = cmd.is_some_and(|cmd| cmd.client == c.id && cmd.request == p.request);
            if ours {
                if let (Some(out), Some(p)) = (output, c.pending.take()) {
                    if let KvOutput::Get(v) = out {
                        c.last_read.insert(p.kv_op.key(), v);
                    }
                    if let KvOp::Cas { key, new, .. } = p.kv_op
                        && out == KvOutput::Cas(true)
                    {
                        c.last_read.insert(key, new);
                    }
                    c.leader_guess = Some(node);
                    self.history.ok(p.op, out, now.0);
                }
            } else if proposed == Some(index) {
                // Another entry took our slot: ours was overwritten, and it is never
                // proposed again, so it had no effect.
                if let Some(p) = c.pending.take() {
                    self.history.fail(p.op, now.0);
                }
            }
        }
    }

    /// `node` confirmed a ReadIndex request at `index`.
    pub fn read_state(&mut self, node: NodeId, context: &[u8], index: LogIndex) {
        let Some((client, request)) = parse_context(context) else {
            return;
        };
        if let Some(p) = self.client_mut(client).and_then(|c| c.pending.as_mut())
            && p.node == node
            && p.request == request
            && matches!(p.waiting, Waiting::ReadState)
        {
            p.waiting = Waiting::Applied { index };
        }
    }

    /// `node` has applied up to `applied` and its state is `kv`: serve confirmed reads.
    pub fn serve_reads(&mut self, node: NodeId, applied: LogIndex, kv: &KvStore, now: Tick) {
        for c in &mut self.clients {
            let ready = c.pending.as_ref().is_some_and(|p| {
                p.node == node
                    && matches!(p.waiting, Waiting::Applied { index } if index <= applied)
            });
            if !ready {
                continue;
            }
            if let Some(p) = c.pending.take() {
                let v = kv.get(p.kv_op.key());
                c.last_read.insert(p.kv_op.key(), v);
                c.leader_guess = Some(node);
                self.history.ok(p.op, KvOutput::Get(v), now.0);
            }
        }
    }

    /// `node` crashed: whatever it was doing for clients is of unknown fate.
    pub fn node_crashed(&mut self, node: NodeId, now: Tick) {
        for c in &mut self.clients {
            if c.pending.as_ref().is_some_and(|p| p.node == node) {
                if let Some(p) = c.pending.take() {
                    self.history.info(p.op, now.0);
                }
                c.leader_guess = None;
            }
        }
    }

    /// Operations past their deadline become `info`.
    pub fn expire(&mut self, now: Tick) {
        for c in &mut self.clients {
            if c.pending.as_ref().is_some_and(|p| p.deadline <= now) {
                if let Some(p) = c.pending.take() {
                    self.history.info(p.op, now.0);
                }
                c.leader_guess = None;
            }
        }
    }
}
