//! The write path: validate, wait out a bounded stall, log (per [`SyncMode`]), insert
//! into the memtable, publish the sequence number.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::inner::{Imm, Inner, State, Writer};
use crate::error::{Error, Result};
use crate::lsm::batch::{BatchOp, WriteBatch};
use crate::lsm::key::{SEQ_MAX, SeqNo, ValueKind};
use crate::lsm::memtable::Memtable;
use crate::lsm::options::SyncMode;
use crate::lsm::stats::Counters;
use crate::wal::Position;

impl Inner {
    /// Refuses a key the engine would not store.
    pub fn check_key(&self, key: &[u8]) -> Result<()> {
        if key.is_empty() {
            return Err(Error::invalid("empty key: keys must be at least one byte"));
        }
        if key.len() > self.opts.key_size_max_bytes {
            return Err(Error::invalid(format!(
                "key of {} bytes is over the limit of {} (key_size_max_bytes)",
                key.len(),
                self.opts.key_size_max_bytes
            )));
        }
        Ok(())
    }

    fn check_batch(&self, batch: &WriteBatch) -> Result<()> {
        for op in batch.iter() {
            self.check_key(op.key())?;
            if let BatchOp::Put { value, .. } = op
                && value.len() > self.opts.value_size_max_bytes
            {
                return Err(Error::invalid(format!(
                    "value of {} bytes is over the limit of {} (value_size_max_bytes)",
                    value.len(),
                    self.opts.value_size_max_bytes
                )));
            }
        }
        let record_max = self.opts.wal_options.record_size_max_bytes as usize;
        if self.wal.is_some() && batch.encoded_len() > record_max {
            return Err(Error::invalid(format!(
                "batch of {} bytes is over the WAL record limit of {record_max}; split it",
                batch.encoded_len()
            )));
        }
        Ok(())
    }

    /// Writes `batch` atomically; `applied` is the caller's log index (wal = false).
    pub fn write(&self, mut batch: WriteBatch, applied: Option<u64>) -> Result<()> {
        self.check_batch(&batch)?;
        if batch.is_empty() && applied.is_none() {
            return Ok(());
        }
        let mut w = self.writer.lock();
        self.check_open()?;
        self.make_room(&mut w)?;
        let n = batch.len() as u64;
        let seq = w.last_seq + 1;
        if seq + n > SEQ_MAX {
            return Err(Error::Closed {
                reason: "sequence numbers exhausted".to_owned(),
            });
        }
        let mut wait_for: Option<Position> = None;
        if n > 0 {
            if let Some(wal) = &self.wal {
                let bytes = batch.seal(SeqNo(seq));
                let logged = match self.opts.sync {
                    SyncMode::Every => wal.append_durable(bytes).map(|_| ()),
                    SyncMode::GroupCommit => wal.append(bytes).map(|p| wait_for = Some(p)),
                    // Like RocksDB's sync=false: in the OS before the write returns, so a
                    // process crash loses nothing acknowledged (a power cut may).
                    SyncMode::None => wal.append(bytes).and_then(|_| wal.flush()),
                };
                if let Err(e) = logged {
                    self.fail("WAL append", &e);
                    return Err(e);
                }
            }
            for (i, op) in batch.iter().enumerate() {
                let s = SeqNo(seq + i as u64);
                match op {
                    BatchOp::Put { key, value } => w.mem.insert(key, s, ValueKind::Put, value),
                    BatchOp::Delete { key } => w.mem.insert(key, s, ValueKind::Delete, &[]),
                }
            }
            w.last_seq += n;
        }
        if let Some(a) = applied {
            w.mem.note_applied_index(a);
        }
        let last = w.last_seq;
        let Some(pos) = wait_for else {
            self.snapshots.visible_seq.store(last, Ordering::Release);
            return Ok(());
        };
        drop(w);
        if let Some(wal) = &self.wal
            && let Err(e) = wal.wait_durable(pos)
        {
            self.fail("WAL sync", &e);
            return Err(e);
        }
        // Writes are inserted in sequence order and the log is durable as a prefix, so
        // everything up to `last` is inserted and durable.
        self.snapshots.visible_seq.fetch_max(last, Ordering::AcqRel);
        Ok(())
    }

    /// Switches a full memtable, waiting (bounded) while flushes or level 0 lag behind.
    fn make_room(&self, w: &mut Writer) -> Result<()> {
        let l0_stop = self.opts.level0_stop_writes;
        let mem_full = |w: &Writer| w.mem.size_bytes() >= self.opts.memtable_size_bytes;
        if self.l0_tables.load(Ordering::Acquire) < l0_stop && !mem_full(w) {
            return Ok(());
        }
        let mut st = self.state.lock();
        let mut deadline: Option<Instant> = None;
        loop {
            if let Some(reason) = &st.bg_error {
                return Err(Error::Closed {
                    reason: reason.clone(),
                });
            }
            if !self.stalled(&st, mem_full(w)) {
                if mem_full(w) {
                    self.switch_memtable(w, &mut st);
                }
                return Ok(());
            }
            let until = *deadline.get_or_insert_with(|| {
                Counters::bump(&self.counters.stalls);
                Instant::now() + self.opts.write_stall_timeout
            });
            if self.cond.wait_until(&mut st, until).timed_out()
                && Instant::now() >= until
                && st.bg_error.is_none()
            {
                if !self.stalled(&st, mem_full(w)) {
                    continue;
                }
                let l0 = st.version.levels[0].len();
                Counters::bump(&self.counters.stall_timeouts);
                return Err(Error::Stalled {
                    waited_ms: u64::try_from(self.opts.write_stall_timeout.as_millis())
                        .unwrap_or(u64::MAX),
                    immutable_memtables: st.imm.len(),
                    level0_tables: l0,
                });
            }
        }
    }

    /// True while a write must wait: level 0 is full, or the memtable is full and no
    /// immutable slot is free.
    fn stalled(&self, st: &State, mem_full: bool) -> bool {
        st.version.levels[0].len() >= self.opts.level0_stop_writes
            || (mem_full && st.imm.len() >= self.opts.max_immutable_memtables)
    }

    /// Makes the active memtable immutable (queued for flush) and starts a new one.
    pub fn switch_memtable(&self, w: &mut Writer, st: &mut State) {
        let log_end = self.wal.as_ref().map_or(0, |wal| wal.end_position().0);
        let fresh = Arc::new(Memtable::with_capacity(
            w.next_mem_id,
            self.opts.memtable_size_bytes,
        ));
        w.next_mem_id += 1;
        let old = std::mem::replace(&mut w.mem, Arc::clone(&fresh));
        st.mem = fresh;
        st.imm.push_back(Imm { mem: old, log_end });
        self.install(st);
        self.cond.notify_all();
    }
}
