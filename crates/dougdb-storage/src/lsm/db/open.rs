//! Opening a database: replay the manifest named by CURRENT, open every table, replay
//! the WAL after the manifest's log position, write a fresh manifest, delete orphans.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};

use parking_lot::{Condvar, Mutex, RwLock};

use super::inner::{Imm, Inner, ManifestState, State, SuperVersion, Writer};
use super::snapshot::SnapshotList;
use crate::error::{Error, Result};
use crate::lsm::batch::{BatchOp, WriteBatch};
use crate::lsm::flush::TableFactory;
use crate::lsm::key::{SeqNo, ValueKind};
use crate::lsm::manifest::{
    ManifestWriter, TableMeta, VersionEdit, decode_log, manifest_name, parse_manifest_name,
    read_current,
};
use crate::lsm::memtable::Memtable;
use crate::lsm::options::Options;
use crate::lsm::policy::TableId;
use crate::lsm::sst::BlockCache;
use crate::lsm::stats::Counters;
use crate::lsm::version::{Version, parse_table_file_name};
use crate::wal::{Position, Wal};

/// What the manifest replay produced.
#[derive(Debug, Default)]
struct Replayed {
    tables: BTreeMap<TableId, (u32, TableMeta)>,
    next_file: u64,
    last_seq: u64,
    applied_index: u64,
    log_position: u64,
}

fn replay_manifest(opts: &Options, dir: &Path) -> Result<Replayed> {
    let mut r = Replayed {
        next_file: 1,
        ..Default::default()
    };
    let Some(number) = read_current(opts.fs.as_ref(), dir)? else {
        return Ok(r);
    };
    let path = dir.join(manifest_name(number));
    if !opts.fs.exists(&path) {
        return Err(Error::corruption(
            &path,
            0,
            "CURRENT names a manifest that does not exist",
        ));
    }
    let bytes = opts.fs.read_all(&path)?;
    let (edits, torn) = decode_log(&path, &bytes)?;
    if torn {
        tracing::warn!(manifest = %path.display(), "ignored a torn manifest tail (an unsynced edit)");
    }
    r.next_file = r.next_file.max(number + 1);
    for edit in edits {
        for (level, id) in &edit.removes {
            match r.tables.remove(id) {
                Some((l, _)) if l == *level => {}
                _ => {
                    return Err(Error::corruption(
                        &path,
                        0,
                        format!("edit removes unknown table {}", id.0),
                    ));
                }
            }
        }
        for (level, meta) in edit.adds {
            r.tables.insert(meta.id, (level, meta));
        }
        let max = |a: &mut u64, b: Option<u64>| *a = (*a).max(b.unwrap_or(0));
        max(&mut r.next_file, edit.next_file);
        max(&mut r.last_seq, edit.last_seq);
        max(&mut r.applied_index, edit.applied_index);
        max(&mut r.log_position, edit.log_position);
    }
    Ok(r)
}

/// Replays WAL records from `from` into a memtable; returns the last sequence seen.
fn replay_wal(wal: &Wal, from: u64, mem: &Memtable, mut last_seq: u64) -> Result<u64> {
    let start = from.max(wal.first_position().0);
    for record in wal.iter_from(Position(start))? {
        let (pos, bytes) = record?;
        let batch = WriteBatch::decode(&bytes).map_err(|e| match e {
            Error::Corruption { reason, .. } => Error::corruption(
                "WAL",
                pos.0,
                format!(
                    "record at position {} is not a write batch: {reason}",
                    pos.0
                ),
            ),
            other => other,
        })?;
        let seq = batch.seq().0;
        for (i, op) in batch.iter().enumerate() {
            let s = SeqNo(seq + i as u64);
            match op {
                BatchOp::Put { key, value } => mem.insert(key, s, ValueKind::Put, value),
                BatchOp::Delete { key } => mem.insert(key, s, ValueKind::Delete, &[]),
            }
        }
        if !batch.is_empty() {
            last_seq = last_seq.max(seq + batch.len() as u64 - 1);
        }
    }
    Ok(last_seq)
}

/// Opens (creating if needed) the database in `dir`.
pub fn open(dir: &Path, opts: Options) -> Result<Arc<Inner>> {
    opts.validate()?;
    let fs = Arc::clone(&opts.fs);
    fs.create_dir_all(dir)?;
    let mut r = replay_manifest(&opts, dir)?;
    let names = fs.list_dir(dir)?;
    for name in &names {
        let n = parse_table_file_name(name)
            .map(|t| t.0)
            .or_else(|| parse_manifest_name(name));
        if let Some(n) = n {
            r.next_file = r.next_file.max(n + 1);
        }
    }
    let cache = (opts.block_cache_bytes > 0).then(|| BlockCache::new(opts.block_cache_bytes));
    let factory = TableFactory {
        fs: Arc::clone(&fs),
        dir: dir.to_path_buf(),
        opts: opts.table,
        cache,
    };
    let mut add_all = VersionEdit::default();
    for (level, meta) in r.tables.values() {
        add_all.adds.push((*level, meta.clone()));
    }
    let version = Version::default().apply(&add_all, &mut |meta| factory.open(meta))?;

    let mem = Memtable::with_capacity(1, opts.memtable_size_bytes);
    let mut last_seq = r.last_seq;
    let wal = if opts.wal {
        let (wal, recovery) = Wal::open(Arc::clone(&fs), &dir.join("wal"), opts.wal_options)?;
        tracing::debug!(?recovery, "WAL opened");
        last_seq = replay_wal(&wal, r.log_position, &mem, last_seq)?;
        Some(wal)
    } else {
        None
    };

    let manifest_number = r.next_file;
    r.next_file += 1;
    let mut snap = version.snapshot_edit();
    snap.next_file = Some(r.next_file);
    snap.last_seq = Some(last_seq.max(r.last_seq));
    snap.applied_index = Some(r.applied_index);
    snap.log_position = Some(r.log_position);
    let writer = ManifestWriter::create(fs.as_ref(), dir, manifest_number, &snap)?;

    let live: HashSet<TableId> = version.table_ids().collect();
    for name in &names {
        let orphan = match parse_table_file_name(name) {
            Some(id) => !live.contains(&id),
            None => parse_manifest_name(name).is_some() || name == "CURRENT.tmp",
        };
        if orphan
            && name != &manifest_name(manifest_number)
            && let Err(e) = fs.remove_file(&dir.join(name))
        {
            tracing::warn!(file = name, error = %e, "could not delete an orphan file");
        }
    }

    let mem = Arc::new(mem);
    let mut imm = VecDeque::new();
    let mut active = mem;
    if active.size_bytes() >= opts.memtable_size_bytes {
        let log_end = wal.as_ref().map_or(0, |w| w.end_position().0);
        imm.push_back(Imm {
            mem: active,
            log_end,
        });
        active = Arc::new(Memtable::with_capacity(2, opts.memtable_size_bytes));
    }
    let version = Arc::new(version);
    let sv = SuperVersion {
        mem: Arc::clone(&active),
        imm: imm.iter().rev().map(|i: &Imm| Arc::clone(&i.mem)).collect(),
        version: Arc::clone(&version),
    };
    let snapshots = Arc::new(SnapshotList::default());
    snapshots
        .visible_seq
        .store(last_seq, std::sync::atomic::Ordering::Release);
    let inner = Inner {
        dir: dir.to_path_buf(),
        factory,
        wal,
        writer: Mutex::new(Writer {
            mem: Arc::clone(&active),
            last_seq,
            next_mem_id: active.id() + 1,
        }),
        state: Mutex::new(State {
            mem: active,
            imm,
            version: Arc::clone(&version),
            compacting: HashSet::new(),
            bg_error: None,
            shutdown: false,
            flushed_mem_id: 0,
            tree_changes: 0,
        }),
        cond: Condvar::new(),
        current: RwLock::new(Arc::new(sv)),
        snapshots,
        manifest: Mutex::new(ManifestState {
            writer,
            last_seq: last_seq.max(r.last_seq),
            applied_index: r.applied_index,
            log_position: r.log_position,
        }),
        next_file: AtomicU64::new(r.next_file),
        applied_index: AtomicU64::new(r.applied_index),
        failed: AtomicBool::new(false),
        l0_tables: AtomicUsize::new(version.levels[0].len()),
        counters: Counters::default(),
        compaction_lock: Mutex::new(()),
        opts,
    };
    Ok(Arc::new(inner))
}
