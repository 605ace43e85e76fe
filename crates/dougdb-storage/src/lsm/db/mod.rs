//! [`Db`]: the public handle of an LSM database. Cheap to share (`Arc` inside), `Send`
//! and `Sync`; background flush and compaction run on two `std::thread`s.

mod background;
mod checkpoint;
mod inner;
mod open;
mod range;
mod read;
mod snapshot;
mod write;

use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;

use parking_lot::Mutex;

pub use checkpoint::{
    Checkpoint, CheckpointTable, INGEST_TABLES_MAX, IngestCheckpoint, IngestTable,
};
pub use range::ScanRange;
pub use read::DbIter;
pub use snapshot::Snapshot;

use self::inner::Inner;
use super::options::Options;
use crate::error::{Error, Result};
use crate::lsm::batch::WriteBatch;
use crate::lsm::policy::CompactionPolicy;
use crate::lsm::stats::{DbStats, LevelStats};

/// An open LSM database.
#[derive(Debug)]
pub struct Db {
    inner: Arc<Inner>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

fn spawn(name: &str, inner: &Arc<Inner>, body: fn(&Arc<Inner>)) -> Result<JoinHandle<()>> {
    let dir = inner.dir.clone();
    let inner = Arc::clone(inner);
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || body(&inner))
        .map_err(|e| Error::io(dir, e))
}

impl Db {
    /// Opens (creating if needed) the database in `path`: replays the manifest and, with
    /// `wal = true`, the WAL after the last flush.
    pub fn open(path: impl AsRef<Path>, options: Options) -> Result<Db> {
        let inner = open::open(path.as_ref(), options)?;
        let mut threads = vec![spawn("dougdb-flush", &inner, |i| i.flush_loop())?];
        if inner.opts.background_compaction {
            threads.push(spawn("dougdb-compact", &inner, |i| i.compaction_loop())?);
        }
        // Work found at open (a large replayed memtable, an unbalanced tree) starts now.
        inner.cond.notify_all();
        Ok(Db {
            inner,
            threads: Mutex::new(threads),
        })
    }

    /// Sets `key` to `value`.
    pub fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        let mut b = WriteBatch::with_capacity(WriteBatch::put_len(key.len(), value.len()));
        b.put(key, value);
        self.inner.write(b, None)
    }

    /// The latest value of `key`, `None` if absent or deleted.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.inner.get(key)
    }

    /// Deletes `key` (a tombstone).
    pub fn delete(&self, key: &[u8]) -> Result<()> {
        let mut b = WriteBatch::with_capacity(5 + key.len());
        b.delete(key);
        self.inner.write(b, None)
    }

    /// Applies every op of `batch` atomically: after a crash, all or none.
    pub fn write_batch(&self, batch: WriteBatch) -> Result<()> {
        self.inner.write(batch, None)
    }

    /// With `wal = false`: applies `batch`, which comes from the caller's log entry
    /// `applied_index`. The next flush records the highest such index it persisted.
    /// An empty batch just advances the index.
    pub fn write_batch_applied(&self, batch: WriteBatch, applied_index: u64) -> Result<()> {
        self.inner.write(batch, Some(applied_index))
    }

    /// Highest applied index made durable by a flush: a restarting node replays its log
    /// after it.
    pub fn applied_index(&self) -> u64 {
        self.inner.applied_index.load(Ordering::Acquire)
    }

    /// A consistent read view of everything written so far.
    pub fn snapshot(&self) -> Snapshot {
        self.inner.snapshots.take()
    }

    /// The value of `key` as of `snapshot`.
    pub fn get_at(&self, key: &[u8], snapshot: &Snapshot) -> Result<Option<Vec<u8>>> {
        self.inner.check_key(key)?;
        let sv = self.inner.super_version();
        self.inner.get_in(&sv, key, snapshot.seq())
    }

    /// Key-ordered pairs in `range`, over a snapshot taken now.
    pub fn scan(&self, range: impl ScanRange) -> Result<DbIter> {
        let snap = self.snapshot();
        self.scan_at(range, &snap)
    }

    /// Key-ordered pairs in `range` as of `snapshot`.
    pub fn scan_at(&self, range: impl ScanRange, snapshot: &Snapshot) -> Result<DbIter> {
        let (lower, upper) = range.bounds();
        Ok(self.inner.scan_at(lower, upper, snapshot.clone()))
    }

    /// Like [`Db::scan`], with borrowed bounds.
    pub fn scan_bounds(&self, lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> Result<DbIter> {
        Ok(self.inner.scan_at(lower, upper, self.snapshot()))
    }

    /// Makes every write so far durable in a table (memtable -> level 0, manifest edit
    /// synced); with `wal = false` this also persists the applied index.
    pub fn flush(&self) -> Result<()> {
        let target = {
            let mut w = self.inner.writer.lock();
            self.inner.check_open()?;
            let mut st = self.inner.state.lock();
            let pending_index = w.mem.applied_index_max() > self.applied_index();
            if !w.mem.is_empty() || pending_index {
                self.inner.switch_memtable(&mut w, &mut st);
            }
            match st.imm.back() {
                Some(i) => i.mem.id(),
                None => return Ok(()),
            }
        };
        let mut st = self.inner.state.lock();
        while st.flushed_mem_id < target {
            if let Some(reason) = &st.bg_error {
                return Err(Error::Closed {
                    reason: reason.clone(),
                });
            }
            if st.shutdown {
                return Err(Error::Closed {
                    reason: "closed during flush".to_owned(),
                });
            }
            self.inner.cond.wait(&mut st);
        }
        Ok(())
    }

    /// Makes every acknowledged write durable in the WAL (for `SyncMode::None`).
    pub fn sync(&self) -> Result<()> {
        match &self.inner.wal {
            Some(wal) => wal.sync(),
            None => self.flush(),
        }
    }

    /// Flushes, then compacts every table down to the deepest non-empty level.
    pub fn compact_all(&self) -> Result<()> {
        self.flush()?;
        self.inner.compact_all().inspect_err(|e| {
            if !matches!(e, Error::InvalidCompaction { .. }) {
                self.inner.fail("compaction", e);
            }
        })
    }

    /// Runs the configured policy in this thread until it has nothing to do.
    pub fn wait_for_compactions(&self) -> Result<()> {
        self.run_policy(Arc::clone(&self.inner.opts.compaction_policy).as_ref())
    }

    /// Runs `policy` (validated, with fallback, like the configured one) until it has
    /// nothing to do. Useful to test a policy against a live tree.
    pub fn run_policy(&self, policy: &dyn CompactionPolicy) -> Result<()> {
        self.inner.check_open()?;
        for _ in 0..10_000 {
            match self.inner.compact_once(policy) {
                Ok(true) => {}
                Ok(false) => return Ok(()),
                Err(e) => {
                    self.inner.fail("compaction", &e);
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Shape and counters.
    pub fn stats(&self) -> DbStats {
        let sv = self.inner.super_version();
        let mut s = DbStats::default();
        for level in &sv.version.levels {
            let bytes = level.iter().map(|t| t.meta.size_bytes).sum();
            s.levels.push(LevelStats {
                tables: level.len(),
                bytes,
            });
            s.tables += level.len();
            s.table_bytes += bytes;
        }
        s.immutable_memtables = sv.imm.len();
        s.memtable_bytes = sv.mem.size_bytes();
        s.fill_counters(&self.inner.counters);
        s.last_seq = self.inner.snapshots.visible_seq.load(Ordering::Acquire);
        s.applied_index = self.applied_index();
        s
    }

    /// Closes the database: with `wal = false` flushes first (so the applied index is
    /// current), with a WAL syncs it; then stops the background threads and releases
    /// the files. Errors from the final flush or sync are returned after shutdown.
    pub fn close(self) -> Result<()> {
        let result = if self.inner.failed.load(Ordering::Acquire) {
            Ok(())
        } else if self.inner.wal.is_some() {
            self.sync()
        } else {
            self.flush()
        };
        self.shutdown();
        result
    }

    fn shutdown(&self) {
        self.inner.state.lock().shutdown = true;
        self.inner.cond.notify_all();
        for t in self.threads.lock().drain(..) {
            if t.join().is_err() {
                tracing::error!("a background thread panicked");
            }
        }
    }
}

impl Drop for Db {
    /// Stops the background threads (without the final flush of [`Db::close`]).
    fn drop(&mut self) {
        if let (Some(wal), false) = (&self.inner.wal, self.inner.failed.load(Ordering::Acquire)) {
            let _ = wal.sync();
        }
        self.shutdown();
    }
}
