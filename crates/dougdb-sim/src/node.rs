//! One simulated node: a `RawNode` over its `SimDisk`, the KV state machine it applies
//! committed entries to, and the code that carries out a `Ready` in the documented order
//! (send `messages`; persist snapshot, entries, hard state and sync; send
//! `persisted_messages`; apply; advance), optionally crashing at a chosen point in it.

use dougdb_raft::{
    Config, Entry, EntryKind, HardState, LogIndex, LogStore, Message, NodeId, RawNode, ReadState,
    Result, SoftState, Status,
};

use crate::disk::SimDisk;
use crate::kv::{Command, KvOutput, KvStore};

/// Where in a `Ready` a crash strikes (chosen by the fault schedule).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashPoint {
    /// After sending the pre-persist messages, before anything is durable.
    BeforeSync,
    /// During the fsync: only the first `n` records of the batch reach the disk.
    TornSync(usize),
    /// After the sync, before the post-persist messages leave.
    AfterSync,
    /// After everything but `advance`.
    BeforeAdvance,
}

/// One applied entry, reported to the invariant checker and the workload.
#[derive(Clone, Debug)]
pub struct Applied {
    /// The entry as handed out in `committed_entries`.
    pub entry: Entry,
    /// Its decoded command (normal entries written by the workload).
    pub cmd: Option<Command>,
    /// What applying it returned.
    pub output: Option<KvOutput>,
}

/// What carrying out one `Ready` produced, for the cluster to route and check.
#[derive(Debug, Default)]
pub struct ReadyOutput {
    /// Messages to hand to the network (in send order).
    pub sent: Vec<Message>,
    /// Entries appended to the log (before the sync).
    pub appended: Vec<Entry>,
    /// Hard state written, if any.
    pub hard_state: Option<HardState>,
    /// Index of a snapshot installed from the leader.
    pub snapshot_installed: Option<LogIndex>,
    /// Committed entries applied, in order.
    pub applied: Vec<Applied>,
    /// Confirmed reads.
    pub read_states: Vec<ReadState>,
    /// Role/leader change.
    pub soft_state: Option<SoftState>,
    /// The node crashed while carrying it out.
    pub crashed: bool,
}

/// A node of the simulated group.
#[derive(Debug)]
pub struct SimNode {
    /// Its id.
    pub id: NodeId,
    /// Its disk (survives crashes; only the synced part does).
    pub disk: SimDisk,
    /// The running Raft node, `None` while crashed.
    pub raft: Option<RawNode<SimDisk>>,
    /// The state machine (volatile: rebuilt from snapshot + log on restart).
    pub kv: KvStore,
    /// Last index applied to `kv`.
    pub applied: LogIndex,
    /// Times it was (re)started, mixed into its election-timeout seed.
    pub incarnation: u64,
    config: Config,
}

impl SimNode {
    /// A node over `disk`, started.
    pub fn start(config: Config, disk: SimDisk) -> Result<SimNode> {
        let mut node = SimNode {
            id: config.id,
            disk,
            raft: None,
            kv: KvStore::default(),
            applied: LogIndex(0),
            incarnation: 0,
            config,
        };
        node.restart()?;
        Ok(node)
    }

    /// Whether it is running.
    pub fn is_up(&self) -> bool {
        self.raft.is_some()
    }

    /// Status of the running node.
    pub fn status(&self) -> Option<Status> {
        self.raft.as_ref().map(RawNode::status)
    }

    /// Power loss: the process and everything not synced are gone.
    pub fn crash(&mut self) {
        self.raft = None;
        self.disk.crash();
        self.kv = KvStore::default();
        self.applied = LogIndex(0);
    }

    /// Starts the node from what its disk holds: the KV from the durable snapshot, Raft
    /// from the durable log (it re-delivers committed entries after the snapshot).
    pub fn restart(&mut self) -> Result<()> {
        self.disk.crash();
        let (snap_index, data) = self
            .disk
            .with_durable(|d| (d.snapshot().metadata.index, d.snapshot().data.clone()));
        self.kv = KvStore::restore(&data).unwrap_or_default();
        self.applied = snap_index;
        self.incarnation += 1;
        let mut cfg = self.config.clone();
        cfg.seed = self
            .config
            .seed
            .wrapping_add(self.incarnation.wrapping_mul(0x2545_F491_4F6C_DD1D));
        self.raft = Some(RawNode::new(cfg, self.disk.clone())?);
        Ok(())
    }

    /// Carries out one `Ready`, crashing at `crash` if given. `None` when there was no
    /// work (or the node is down).
    pub fn handle_ready(&mut self, crash: Option<CrashPoint>) -> Result<Option<ReadyOutput>> {
        let Some(raft) = self.raft.as_mut() else {
            return Ok(None);
        };
        if !raft.has_ready() {
            return Ok(None);
        }
        let rd = raft.ready()?;
        let mut out = ReadyOutput {
            soft_state: rd.soft_state.clone(),
            ..ReadyOutput::default()
        };
        // 1. A durable-term leader's messages may leave before its own write.
        out.sent.extend(rd.messages.iter().cloned());
        if crash == Some(CrashPoint::BeforeSync) {
            self.crash_now(&mut out);
            return Ok(Some(out));
        }
        // 2. Persist snapshot, entries, hard state; one fsync for the batch.
        raft.persist(&rd)?;
        if let Some(CrashPoint::TornSync(n)) = crash {
            self.disk.sync_torn(n)?;
            self.crash_now(&mut out);
            return Ok(Some(out));
        }
        self.disk.sync()?;
        out.appended = rd.entries.clone();
        out.hard_state = rd.hard_state.clone();
        if crash == Some(CrashPoint::AfterSync) {
            self.crash_now(&mut out);
            return Ok(Some(out));
        }
        // 3. Everything that depends on the persisted state.
        out.sent.extend(rd.persisted_messages.iter().cloned());
        // 4. Apply.
        if let Some(s) = &rd.snapshot {
            self.kv = KvStore::restore(&s.data).unwrap_or_default();
            self.applied = s.metadata.index;
            out.snapshot_installed = Some(s.metadata.index);
        }
        for e in &rd.committed_entries {
            out.applied.push(self.apply(e));
        }
        out.read_states = rd.read_states.clone();
        if crash == Some(CrashPoint::BeforeAdvance) {
            self.crash_now(&mut out);
            return Ok(Some(out));
        }
        // 5. Done.
        if let Some(raft) = self.raft.as_mut() {
            raft.advance()?;
        }
        Ok(Some(out))
    }

    fn crash_now(&mut self, out: &mut ReadyOutput) {
        self.crash();
        out.crashed = true;
    }

    fn apply(&mut self, e: &Entry) -> Applied {
        let cmd = match e.kind {
            EntryKind::Normal => Command::decode(&e.data),
            EntryKind::ConfChange | EntryKind::Noop => None,
        };
        let output = cmd.as_ref().map(|c| self.kv.apply(&c.op));
        self.applied = e.index;
        Applied {
            entry: e.clone(),
            cmd,
            output,
        }
    }

    /// Compacts the log up to the applied index when more than `threshold` entries
    /// precede it, snapshotting the KV there. Returns whether it compacted.
    pub fn maybe_compact(&mut self, threshold: u64) -> Result<bool> {
        let Some(raft) = self.raft.as_mut() else {
            return Ok(false);
        };
        let first = self.disk.with_working(|s| s.first_index())?;
        if self.applied.0 < first.0.saturating_add(threshold) {
            return Ok(false);
        }
        raft.compact(self.applied, self.kv.snapshot())?;
        self.disk.sync()?;
        Ok(true)
    }
}
