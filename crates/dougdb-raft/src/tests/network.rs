//! A deterministic in-process network of `RawNode`s over `MemLogStore`s for tests: FIFO
//! delivery by default, seeded shuffles/drops for property tests, cut links, restarts.

use std::collections::{BTreeMap, BTreeSet};

use crate::{
    ConfState, Config, Entry, LogIndex, MemLogStore, Message, NodeId, RawNode, ReadState, Role,
    persist_ready,
};

/// One node plus what its state machine applied.
pub struct Peer {
    pub node: RawNode<MemLogStore>,
    pub cfg: Config,
    /// Applied entries by index (snapshots leave gaps below `snapshot_index`).
    pub applied: BTreeMap<LogIndex, Entry>,
    pub snapshot_index: LogIndex,
    pub read_states: Vec<ReadState>,
    /// The toy state machine: payloads of applied Normal entries, in order.
    pub sm: Vec<Vec<u8>>,
}

/// Snapshot bytes of the toy state machine: u32 count, then u32 length + bytes each.
pub fn encode_sm(sm: &[Vec<u8>]) -> Vec<u8> {
    let mut out = (sm.len() as u32).to_le_bytes().to_vec();
    for d in sm {
        out.extend_from_slice(&(d.len() as u32).to_le_bytes());
        out.extend_from_slice(d);
    }
    out
}

pub fn decode_sm(b: &[u8]) -> Vec<Vec<u8>> {
    if b.is_empty() {
        return Vec::new();
    }
    let rd = |p: usize| u32::from_le_bytes(b[p..p + 4].try_into().unwrap()) as usize;
    let n = rd(0);
    let mut pos = 4;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let len = rd(pos);
        out.push(b[pos + 4..pos + 4 + len].to_vec());
        pos += 4 + len;
    }
    out
}

pub struct Network {
    pub peers: BTreeMap<NodeId, Peer>,
    pub in_flight: Vec<Message>,
    /// Directed links that drop everything.
    pub cut: BTreeSet<(NodeId, NodeId)>,
    /// Every message ever delivered (for assertions on traffic).
    pub delivered: Vec<Message>,
}

pub fn cfg(id: u64, seed: u64) -> Config {
    let mut c = Config::new(NodeId(id));
    c.election_tick = 10;
    c.heartbeat_tick = 1;
    c.seed = seed.wrapping_mul(1000).wrapping_add(id);
    c
}

impl Network {
    pub fn new(n: u64, seed: u64) -> Network {
        Network::with_config(n, seed, |_| {})
    }

    pub fn with_config(n: u64, seed: u64, tweak: impl Fn(&mut Config)) -> Network {
        let mut net = Network {
            peers: BTreeMap::new(),
            in_flight: Vec::new(),
            cut: BTreeSet::new(),
            delivered: Vec::new(),
        };
        let conf = ConfState::with_voters(1..=n);
        for id in 1..=n {
            let mut c = cfg(id, seed);
            tweak(&mut c);
            net.add_peer(c, MemLogStore::with_conf_state(conf.clone()));
        }
        net
    }

    pub fn add_peer(&mut self, c: Config, store: MemLogStore) {
        let snapshot_index = store.snapshot().metadata.index;
        let sm = decode_sm(&store.snapshot().data);
        let node = RawNode::new(c.clone(), store).unwrap();
        let peer = Peer {
            node,
            cfg: c.clone(),
            applied: BTreeMap::new(),
            snapshot_index,
            read_states: Vec::new(),
            sm,
        };
        self.peers.insert(c.id, peer);
    }

    pub fn node(&mut self, id: u64) -> &mut RawNode<MemLogStore> {
        &mut self.peers.get_mut(&NodeId(id)).unwrap().node
    }

    pub fn peer(&self, id: u64) -> &Peer {
        &self.peers[&NodeId(id)]
    }

    /// Carries out one node's Ready (persist, send, apply, advance).
    pub fn process_ready(&mut self, id: NodeId) {
        let Some(p) = self.peers.get_mut(&id) else {
            return;
        };
        for _ in 0..100 {
            if !p.node.has_ready() {
                return;
            }
            let rd = p.node.ready().unwrap();
            persist_ready(p.node.store_mut(), &rd).unwrap();
            if let Some(s) = &rd.snapshot {
                p.applied.retain(|i, _| *i > s.metadata.index);
                p.snapshot_index = s.metadata.index;
                p.sm = decode_sm(&s.data);
            }
            for e in &rd.committed_entries {
                assert!(
                    p.applied.insert(e.index, e.clone()).is_none(),
                    "entry {} applied twice on {id}",
                    e.index
                );
                if e.kind == crate::EntryKind::Normal {
                    p.sm.push(e.data.clone());
                }
            }
            p.read_states.extend(rd.read_states.iter().cloned());
            for m in rd.messages.into_iter().chain(rd.persisted_messages) {
                if !self.cut.contains(&(m.from, m.to)) {
                    self.in_flight.push(m);
                }
            }
            p.node.advance().unwrap();
        }
        panic!("node {id} never ran out of Ready");
    }

    pub fn process_all(&mut self) {
        let ids: Vec<NodeId> = self.peers.keys().copied().collect();
        for id in ids {
            self.process_ready(id);
        }
    }

    /// Delivers one message (dropping it if its destination is gone or cut).
    pub fn deliver(&mut self, m: Message) {
        if self.cut.contains(&(m.from, m.to)) {
            return;
        }
        let to = m.to;
        if let Some(p) = self.peers.get_mut(&to) {
            self.delivered.push(m.clone());
            p.node.step(m).unwrap();
            self.process_ready(to);
        }
    }

    /// FIFO delivery until the network is quiet.
    pub fn settle(&mut self) {
        self.process_all();
        for _ in 0..100_000 {
            if self.in_flight.is_empty() {
                return;
            }
            let batch = std::mem::take(&mut self.in_flight);
            for m in batch {
                self.deliver(m);
            }
        }
        panic!("network never settled");
    }

    pub fn tick(&mut self, id: u64) {
        self.node(id).tick().unwrap();
        self.process_ready(NodeId(id));
    }

    pub fn tick_all(&mut self) {
        let ids: Vec<u64> = self.peers.keys().map(|i| i.0).collect();
        for id in ids {
            self.tick(id);
        }
    }

    /// Ticks every node and settles, `n` times.
    pub fn run_ticks(&mut self, n: usize) {
        for _ in 0..n {
            self.tick_all();
            self.settle();
        }
    }

    /// Makes `id` campaign and settles; asserts it won.
    pub fn elect(&mut self, id: u64) {
        self.node(id).campaign().unwrap();
        self.settle();
        assert_eq!(
            self.node(id).status().role,
            Role::Leader,
            "n{id} did not win"
        );
    }

    pub fn isolate(&mut self, id: u64) {
        let ids: Vec<NodeId> = self.peers.keys().copied().collect();
        for other in ids {
            if other != NodeId(id) {
                self.cut.insert((NodeId(id), other));
                self.cut.insert((other, NodeId(id)));
            }
        }
    }

    pub fn heal(&mut self) {
        self.cut.clear();
    }

    /// The leader with the highest term, if any.
    pub fn leader(&self) -> Option<u64> {
        self.peers
            .values()
            .filter(|p| p.node.status().role == Role::Leader)
            .max_by_key(|p| p.node.status().term)
            .map(|p| p.node.id().0)
    }

    /// Restarts `id` from what it persisted; its state machine restarts empty.
    pub fn restart(&mut self, id: u64) {
        let p = self.peers.remove(&NodeId(id)).unwrap();
        let store = p.node.into_store();
        self.add_peer(p.cfg, store);
    }

    /// Snapshots `id`'s state machine at its applied index and compacts its log.
    pub fn compact(&mut self, id: u64) {
        let p = self.peers.get_mut(&NodeId(id)).unwrap();
        let applied = p.node.status().applied;
        let data = encode_sm(&p.sm);
        match p.node.compact(applied, data) {
            Ok(()) | Err(crate::Error::SnapshotOutOfDate { .. }) => {}
            Err(e) => panic!("compact failed: {e}"),
        }
    }
}
