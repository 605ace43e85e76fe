//! Opening a Raft log: read the metadata, recover the WAL, replay its records from
//! `log_start` into the in-memory index (entry at `i` discards earlier entries `>= i`;
//! the last hard state wins), and check the snapshot data file.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;

use dougdb_storage::fs::SharedFs;
use dougdb_storage::wal::Wal;

use super::meta;
use super::record::{self, LogRecord};
use super::store::{RaftStoreOptions, Slot, WalLogStore};
use crate::error::{Error, Result};

/// Name of the WAL directory inside a group's directory.
const WAL_DIR: &str = "wal";

pub(super) fn open(fs: SharedFs, dir: &Path, opts: RaftStoreOptions) -> Result<WalLogStore> {
    fs.create_dir_all(dir)?;
    let m = meta::read(&fs, dir)?.unwrap_or_default();
    let (wal, recovery) = Wal::open(Arc::clone(&fs), &dir.join(WAL_DIR), opts.wal)?;
    if recovery.truncated_bytes > 0 {
        tracing::warn!(
            dir = %dir.display(),
            bytes = recovery.truncated_bytes,
            "raft log: cut a torn WAL tail (writes that were never acknowledged)"
        );
    }
    let (first, end) = (wal.first_position(), wal.end_position());
    if m.log_start < first || m.log_start > end {
        return Err(Error::CorruptMeta {
            file: dir.join(meta::META_FILE),
            reason: "log start lies outside the WAL",
        });
    }
    let snap_data = meta::open_snapshot_data(&fs, dir, &m)?;
    let snap_index = m.snapshot.index;
    let mut hard_state = m.hard_state.clone();
    let mut slots: VecDeque<Slot> = VecDeque::new();
    let corrupt = |position: u64, reason| Error::CorruptLogRecord {
        dir: wal.dir().to_path_buf(),
        position,
        reason,
    };
    for item in wal.iter_from(m.log_start)? {
        let (pos, payload) = item?;
        match record::decode(&payload).map_err(|r| corrupt(pos.0, r))? {
            LogRecord::HardState(hs) => hard_state = hs,
            LogRecord::Entry(e) => {
                if e.index <= snap_index {
                    // Written before the snapshot that covers it; dead.
                    continue;
                }
                let k = e.index.0 - snap_index.0 - 1;
                if k > slots.len() as u64 {
                    return Err(corrupt(pos.0, "entry leaves a gap in the log"));
                }
                slots.truncate(k as usize);
                slots.push_back(Slot {
                    pos,
                    term: e.term,
                    data_len: e.data.len() as u64,
                });
            }
        }
    }
    meta::remove_stale(&fs, dir, &m)?;
    Ok(WalLogStore {
        fs,
        dir: dir.to_path_buf(),
        wal: Arc::new(wal),
        meta: m,
        hard_state,
        snap_data,
        slots,
        deferred_sync: opts.deferred_sync,
    })
}
