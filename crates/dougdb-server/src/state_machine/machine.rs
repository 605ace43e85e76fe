//! [`StateMachine`]: applies committed entries to an LSM `Db` opened with `wal: false`,
//! each entry in one `write_batch_applied(batch, index)` that also carries its
//! exactly-once record, so data, table and applied index are flushed together.
//!
//! Determinism: everything here depends only on the entries and the state before them.
//! An undecodable command or one over the limits is *rejected* at apply (the index still
//! advances), identically on every replica, rather than halting the group.

use std::collections::HashMap;
use std::path::Path;

use dougdb_raft::{Entry, EntryKind};
use dougdb_storage::lsm::{Db, Options, WriteBatch};

use super::command::{BatchOp, Command, Op};
use super::limits::Limits;
use super::outcome::Outcome;
use super::sessions::{Check, Sessions};
use crate::error::{Error, Result};

/// Bytes a session record adds to a value (sequence, index, outcome header).
const SESSION_OVERHEAD_BYTES: usize = 64;
/// Default of [`StateMachineOptions::snapshot_log_bytes`].
pub const SNAPSHOT_LOG_BYTES_DEFAULT: u64 = 64 << 20;
/// What an entry costs in the log besides its data (WAL frame, index, term, kind): an
/// estimate, so that a log of empty entries is bounded too.
const ENTRY_OVERHEAD_BYTES: u64 = 32;

/// How a [`StateMachine`] is opened.
#[derive(Clone, Debug)]
pub struct StateMachineOptions {
    /// Client write limits (also enforced at apply).
    pub limits: Limits,
    /// Most clients the exactly-once table remembers.
    pub sessions_max: usize,
    /// LSM options; `wal` is forced off and the value limit raised to fit session records.
    pub db: Options,
    /// Snapshot and compact the log once the entries applied since the last snapshot
    /// carry this many bytes (`None`: only by entry count). Bounds the log on disk and
    /// the replay after a restart even when entries are large.
    pub snapshot_log_bytes: Option<u64>,
}

impl Default for StateMachineOptions {
    fn default() -> Self {
        StateMachineOptions {
            limits: Limits::default(),
            sessions_max: 100_000,
            db: Options::default(),
            snapshot_log_bytes: Some(SNAPSHOT_LOG_BYTES_DEFAULT),
        }
    }
}

/// Why a committed command was not applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// Its bytes do not decode.
    BadCommand {
        /// Decoder's reason.
        reason: String,
    },
    /// A key or value breaks the limits.
    InvalidArgument {
        /// What was wrong.
        reason: String,
    },
    /// The client already applied a later write.
    StaleSequence {
        /// The client's last applied sequence.
        last: u64,
    },
}

/// The answer of applying one entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// Applied now, with this outcome.
    Done(Outcome),
    /// A retry of a write applied before: its first outcome; nothing applied now.
    Duplicate(Outcome),
    /// Not applied (see [`Rejection`]); the applied index advanced.
    Rejected(Rejection),
    /// A no-op or membership entry: nothing for a client; the applied index advanced.
    NotACommand,
    /// The entry is at or below the applied index (a replay): nothing done.
    AlreadyApplied,
}

/// A shard's state machine.
#[derive(Debug)]
pub struct StateMachine {
    pub(super) db: Db,
    pub(super) sessions: Sessions,
    limits: Limits,
    /// Highest index applied in this process (or flushed before it started).
    pub(super) applied: u64,
    /// Capacity of the exactly-once table (to reload it after a snapshot).
    pub(super) sessions_max: usize,
    /// See [`StateMachineOptions::snapshot_log_bytes`].
    snapshot_log_bytes: Option<u64>,
    /// Log bytes applied since the last snapshot (in this process: a restart starts
    /// from 0, so the log may reach up to twice the limit across a restart).
    pub(super) log_bytes_since_snapshot: u64,
}

impl StateMachine {
    /// Opens the state machine's LSM in `dir` and loads the exactly-once table.
    pub fn open(dir: &Path, opts: StateMachineOptions) -> Result<StateMachine> {
        let mut db_opts = opts.db;
        db_opts.wal = false;
        db_opts.value_size_max_bytes = db_opts
            .value_size_max_bytes
            .max(opts.limits.value_max_bytes as usize + SESSION_OVERHEAD_BYTES);
        db_opts.key_size_max_bytes = db_opts
            .key_size_max_bytes
            .max(opts.limits.key_max_bytes as usize);
        let db = Db::open(dir, db_opts)?;
        let sessions = Sessions::load(&db, opts.sessions_max)?;
        let applied = db.applied_index();
        Ok(StateMachine {
            db,
            sessions,
            limits: opts.limits,
            applied,
            sessions_max: opts.sessions_max,
            snapshot_log_bytes: opts.snapshot_log_bytes,
            log_bytes_since_snapshot: 0,
        })
    }

    /// Highest index applied (flushed or not). Entries at or below it are skipped.
    pub fn applied_index(&self) -> u64 {
        self.applied
    }

    /// Highest index whose effects are on disk: a restart replays the log after it.
    pub fn durable_applied_index(&self) -> u64 {
        self.db.applied_index()
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The exactly-once table.
    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// The LSM (reads, scans, snapshots, flushes).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Reads a client key from the applied state.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.limits.check_key(key)?;
        Ok(self.db.get(key)?)
    }

    /// Flushes the memtable (advancing the durable applied index) and closes the LSM.
    pub fn close(self) -> Result<()> {
        Ok(self.db.close()?)
    }

    /// Log bytes applied since the last snapshot (estimated: data plus a fixed overhead
    /// per entry).
    pub fn log_bytes_since_snapshot(&self) -> u64 {
        self.log_bytes_since_snapshot
    }

    /// The byte threshold that triggers a snapshot (`None`: none).
    pub fn snapshot_log_bytes(&self) -> Option<u64> {
        self.snapshot_log_bytes
    }

    /// True once the bytes applied since the last snapshot reach the threshold.
    pub fn wants_snapshot_by_bytes(&self) -> bool {
        self.snapshot_log_bytes
            .is_some_and(|max| self.log_bytes_since_snapshot >= max)
    }

    /// Records that the log was compacted behind a snapshot of this state: the byte
    /// count restarts.
    pub fn note_log_compacted(&mut self) {
        self.log_bytes_since_snapshot = 0;
    }

    /// Applies one committed entry, exactly once.
    pub fn apply_entry(&mut self, entry: &Entry) -> Result<Applied> {
        if entry.index.0 > self.applied {
            self.log_bytes_since_snapshot = self
                .log_bytes_since_snapshot
                .saturating_add(entry.data.len() as u64 + ENTRY_OVERHEAD_BYTES);
        }
        match entry.kind {
            EntryKind::Normal => self.apply_command(entry.index.0, &entry.data),
            EntryKind::Noop | EntryKind::ConfChange => {
                if entry.index.0 <= self.applied {
                    return Ok(Applied::AlreadyApplied);
                }
                self.commit(WriteBatch::new(), entry.index.0)?;
                Ok(Applied::NotACommand)
            }
        }
    }

    /// Applies the command `data` committed at `index`, exactly once.
    pub fn apply_command(&mut self, index: u64, data: &[u8]) -> Result<Applied> {
        if index <= self.applied {
            return Ok(Applied::AlreadyApplied);
        }
        let cmd = match Command::decode(data) {
            Ok(c) => c,
            Err(e) => {
                return self.reject(
                    index,
                    Rejection::BadCommand {
                        reason: e.to_string(),
                    },
                );
            }
        };
        if let Err(e) = self.limits.check(&cmd) {
            let reason = match e {
                Error::InvalidArgument { reason } => reason,
                other => other.to_string(),
            };
            return self.reject(index, Rejection::InvalidArgument { reason });
        }
        match self.sessions.check(cmd.tag) {
            Check::Duplicate(outcome) => {
                self.commit(WriteBatch::new(), index)?;
                return Ok(Applied::Duplicate(outcome));
            }
            Check::Stale { last } => return self.reject(index, Rejection::StaleSequence { last }),
            Check::New => {}
        }
        let mut batch = WriteBatch::new();
        let outcome = self.execute(&cmd.op, &mut batch)?;
        self.sessions.record(cmd.tag, index, &outcome, &mut batch);
        self.commit(batch, index)?;
        Ok(Applied::Done(outcome))
    }

    fn reject(&mut self, index: u64, why: Rejection) -> Result<Applied> {
        self.commit(WriteBatch::new(), index)?;
        Ok(Applied::Rejected(why))
    }

    fn commit(&mut self, batch: WriteBatch, index: u64) -> Result<()> {
        self.db.write_batch_applied(batch, index)?;
        self.applied = index;
        Ok(())
    }

    /// Computes the outcome of `op` against the current state and adds its writes.
    fn execute(&self, op: &Op, batch: &mut WriteBatch) -> Result<Outcome> {
        Ok(match op {
            Op::Put { key, value } => {
                batch.put(key, value);
                Outcome::Put
            }
            Op::Delete { key } => {
                let existed = self.db.get(key)?.is_some();
                if existed {
                    batch.delete(key);
                }
                Outcome::Delete { existed }
            }
            Op::Cas {
                key,
                expected,
                new_value,
            } => {
                let current = self.db.get(key)?;
                if current != *expected {
                    return Ok(Outcome::Cas {
                        success: false,
                        current,
                    });
                }
                match new_value {
                    Some(v) => batch.put(key, v),
                    None if current.is_some() => batch.delete(key),
                    None => {}
                }
                Outcome::Cas {
                    success: true,
                    current: new_value.clone(),
                }
            }
            Op::Batch(ops) => {
                // Presence of keys written earlier in this batch.
                let mut overlay: HashMap<&[u8], bool> = HashMap::new();
                let mut existed = Vec::with_capacity(ops.len());
                for op in ops {
                    match op {
                        BatchOp::Put { key, value } => {
                            batch.put(key, value);
                            overlay.insert(key, true);
                            existed.push(false);
                        }
                        BatchOp::Delete { key } => {
                            let present = match overlay.get(key.as_slice()) {
                                Some(&p) => p,
                                None => self.db.get(key)?.is_some(),
                            };
                            batch.delete(key);
                            overlay.insert(key, false);
                            existed.push(present);
                        }
                    }
                }
                Outcome::Batch { existed }
            }
        })
    }
}
