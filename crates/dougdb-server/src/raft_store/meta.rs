//! The Raft metadata file and the snapshot data file of one group, both in the group's
//! directory beside its `wal/`. Rewritten only by compaction and snapshot installation
//! (rare); the hard state between those lives in the WAL (see `store.rs`).
//!
//! `raft-meta` (replaced atomically: write `raft-meta.tmp`, fsync, rename, fsync dir):
//! ```text
//! 0        8           12           16                    16+len      20+len
//! | magic  | version   | body len   | body                | crc32     |
//! | DOUGRMT\0 | u32 = 1 | u32       |                     | u32 of bytes 8..16+len |
//! body: log_start u64 | hs.term u64 | hs.vote u64 (0 = none) | hs.commit u64
//!     | snap.index u64 | snap.term u64 | snap.data_len u64 | snap.data_crc32 u32
//!     | voters: count u32, ids u64... | learners: count u32, ids u64...
//! ```
//! `log_start`: WAL position where the live log begins; records before it are dead.
//! `hs`: the hard state when the file was written (WAL hard-state records after
//! `log_start` supersede it).
//!
//! `snap-<index>-<term>.data` (20-digit zero-padded numbers): the snapshot's bytes,
//! written and fsynced under a `.tmp` name, renamed, directory fsynced, *before* the meta
//! file naming it. Its length and CRC32 are in the meta file and checked on open. Its
//! content is opaque here: the state machine's snapshot (its LSM tables, applied index
//! and exactly-once table; format in `state_machine/snapshot.rs`, itself CRC-checked
//! again when installed). It is as large as the shard's tables.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dougdb_raft::{ConfState, HardState, LogIndex, NodeId, SnapshotMetadata, Term};
use dougdb_storage::fs::{ReadableFile, SharedFs};
use dougdb_storage::wal::Position;

use crate::error::{Error, Result};

const MAGIC: &[u8; 8] = b"DOUGRMT\0";
const VERSION: u32 = 1;
/// Name of the metadata file.
pub const META_FILE: &str = "raft-meta";
const META_TMP: &str = "raft-meta.tmp";
/// Largest metadata body accepted (a membership of ~60k nodes; anything above is damage).
const BODY_MAX_BYTES: u32 = 1 << 20;

/// Everything the metadata file holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Meta {
    /// WAL position where the live log begins.
    pub log_start: Position,
    /// Hard state when the file was written.
    pub hard_state: HardState,
    /// The stored snapshot (index 0 when none).
    pub snapshot: SnapshotMetadata,
    /// Length of the snapshot's data.
    pub snapshot_len: u64,
    /// CRC32 of the snapshot's data.
    pub snapshot_crc: u32,
}

/// File name of the snapshot data at `index`/`term`.
pub fn snapshot_file_name(index: LogIndex, term: Term) -> String {
    format!("snap-{:020}-{:020}.data", index.0, term.0)
}

fn put_ids(out: &mut Vec<u8>, ids: &BTreeSet<NodeId>) {
    out.extend_from_slice(&(ids.len() as u32).to_le_bytes());
    for id in ids {
        out.extend_from_slice(&id.0.to_le_bytes());
    }
}

/// Encodes the whole file.
pub fn encode(m: &Meta) -> Vec<u8> {
    let mut body = Vec::with_capacity(128);
    for v in [
        m.log_start.0,
        m.hard_state.term.0,
        m.hard_state.vote.map_or(0, |n| n.0),
        m.hard_state.commit.0,
        m.snapshot.index.0,
        m.snapshot.term.0,
        m.snapshot_len,
    ] {
        body.extend_from_slice(&v.to_le_bytes());
    }
    body.extend_from_slice(&m.snapshot_crc.to_le_bytes());
    put_ids(&mut body, &m.snapshot.conf_state.voters);
    put_ids(&mut body, &m.snapshot.conf_state.learners);
    let mut out = Vec::with_capacity(20 + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    let crc = crc32fast::hash(&out[8..]);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// A little-endian cursor that fails instead of panicking.
struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], &'static str> {
        let end = self.at.checked_add(N).ok_or("length overflow")?;
        let bytes = self.buf.get(self.at..end).ok_or("truncated")?;
        self.at = end;
        let mut a = [0u8; N];
        a.copy_from_slice(bytes);
        Ok(a)
    }
    fn u32(&mut self) -> Result<u32, &'static str> {
        Ok(u32::from_le_bytes(self.take()?))
    }
    fn u64(&mut self) -> Result<u64, &'static str> {
        Ok(u64::from_le_bytes(self.take()?))
    }
    fn ids(&mut self) -> Result<BTreeSet<NodeId>, &'static str> {
        let n = self.u32()?;
        let mut ids = BTreeSet::new();
        for _ in 0..n {
            ids.insert(NodeId(self.u64()?));
        }
        Ok(ids)
    }
}

/// Decodes the whole file (total: never panics).
pub fn decode(buf: &[u8]) -> Result<Meta, &'static str> {
    let mut r = Reader { buf, at: 0 };
    if &r.take::<8>()? != MAGIC {
        return Err("bad magic");
    }
    if r.u32()? != VERSION {
        return Err("unknown version");
    }
    let len = r.u32()?;
    if len > BODY_MAX_BYTES || buf.len() != 20 + len as usize {
        return Err("bad length");
    }
    let crc_at = 16 + len as usize;
    let mut crc = Reader { buf, at: crc_at };
    if crc32fast::hash(&buf[8..crc_at]) != crc.u32()? {
        return Err("checksum mismatch");
    }
    let mut b = Reader {
        buf: &buf[..crc_at],
        at: 16,
    };
    let log_start = Position(b.u64()?);
    let term = Term(b.u64()?);
    let vote = b.u64()?;
    let commit = LogIndex(b.u64()?);
    let index = LogIndex(b.u64()?);
    let snap_term = Term(b.u64()?);
    let snapshot_len = b.u64()?;
    let snapshot_crc = b.u32()?;
    let voters = b.ids()?;
    let learners = b.ids()?;
    if b.at != crc_at {
        return Err("trailing bytes in the body");
    }
    Ok(Meta {
        log_start,
        hard_state: HardState {
            term,
            vote: (vote != 0).then_some(NodeId(vote)),
            commit,
        },
        snapshot: SnapshotMetadata {
            index,
            term: snap_term,
            conf_state: ConfState { voters, learners },
        },
        snapshot_len,
        snapshot_crc,
    })
}

/// Reads the metadata file of `dir`; `None` when the group has never written one.
pub fn read(fs: &SharedFs, dir: &Path) -> Result<Option<Meta>> {
    let path = dir.join(META_FILE);
    if !fs.exists(&path) {
        return Ok(None);
    }
    let buf = fs.read_all(&path)?;
    decode(&buf)
        .map(Some)
        .map_err(|reason| Error::CorruptMeta { file: path, reason })
}

/// Writes `bytes` durably under `name` in `dir`: temp file, fsync, rename, fsync dir.
fn write_atomic(fs: &SharedFs, dir: &Path, tmp: &str, name: &str, bytes: &[u8]) -> Result<()> {
    let tmp_path = dir.join(tmp);
    let file = fs.create(&tmp_path)?;
    file.append(bytes)?;
    file.sync()?;
    drop(file);
    fs.rename(&tmp_path, &dir.join(name))?;
    fs.sync_dir(dir)?;
    Ok(())
}

/// Replaces the metadata file durably.
pub fn write(fs: &SharedFs, dir: &Path, m: &Meta) -> Result<()> {
    write_atomic(fs, dir, META_TMP, META_FILE, &encode(m))
}

/// Writes a snapshot's data durably; returns its length and CRC32 for the meta file.
pub fn write_snapshot_data(
    fs: &SharedFs,
    dir: &Path,
    meta: &SnapshotMetadata,
    data: &[u8],
) -> Result<(u64, u32)> {
    let name = snapshot_file_name(meta.index, meta.term);
    write_atomic(fs, dir, &format!("{name}.tmp"), &name, data)?;
    Ok((data.len() as u64, crc32fast::hash(data)))
}

/// Opens the snapshot data named by `m` and checks its length and checksum.
/// `None` when there is no snapshot data (nothing stored, or empty data).
pub fn open_snapshot_data(
    fs: &SharedFs,
    dir: &Path,
    m: &Meta,
) -> Result<Option<Arc<dyn ReadableFile>>> {
    if m.snapshot_len == 0 {
        return Ok(None);
    }
    let path: PathBuf = dir.join(snapshot_file_name(m.snapshot.index, m.snapshot.term));
    let bad = |reason| Error::CorruptMeta {
        file: path.clone(),
        reason,
    };
    if !fs.exists(&path) {
        return Err(bad("snapshot data file missing"));
    }
    let file = fs.open_read(&path)?;
    if file.len()? != m.snapshot_len {
        return Err(bad("snapshot data length differs from the metadata"));
    }
    let mut hasher = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut offset = 0u64;
    while offset < m.snapshot_len {
        let n = (m.snapshot_len - offset).min(buf.len() as u64) as usize;
        file.read_exact_at(&mut buf[..n], offset)?;
        hasher.update(&buf[..n]);
        offset += n as u64;
    }
    if hasher.finalize() != m.snapshot_crc {
        return Err(bad("snapshot data checksum mismatch"));
    }
    Ok(Some(file))
}

/// Removes temp files and snapshot files other than the one `m` names. Best effort:
/// leftovers are harmless and retried at the next call.
pub fn remove_stale(fs: &SharedFs, dir: &Path, m: &Meta) -> Result<()> {
    let keep = snapshot_file_name(m.snapshot.index, m.snapshot.term);
    for name in fs.list_dir(dir)? {
        let stale_snap = name.starts_with("snap-") && name != keep;
        if stale_snap || name == META_TMP {
            fs.remove_file(&dir.join(&name))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn meta_round_trips(log_start: u64, term: u64, vote: u64, commit: u64, index: u64,
                            sterm: u64, len: u64, crc: u32,
                            voters in proptest::collection::btree_set(1u64..100, 0..5),
                            learners in proptest::collection::btree_set(100u64..200, 0..3)) {
            let m = Meta {
                log_start: Position(log_start),
                hard_state: HardState { term: Term(term), vote: (vote != 0).then_some(NodeId(vote)), commit: LogIndex(commit) },
                snapshot: SnapshotMetadata {
                    index: LogIndex(index),
                    term: Term(sterm),
                    conf_state: ConfState {
                        voters: voters.into_iter().map(NodeId).collect(),
                        learners: learners.into_iter().map(NodeId).collect(),
                    },
                },
                snapshot_len: len,
                snapshot_crc: crc,
            };
            let buf = encode(&m);
            prop_assert_eq!(decode(&buf), Ok(m));
            for cut in 0..buf.len() {
                prop_assert!(decode(&buf[..cut]).is_err());
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..128)) {
            let _ = decode(&buf);
        }
    }

    #[test]
    fn a_flipped_bit_is_detected() {
        let buf = encode(&Meta::default());
        for i in 0..buf.len() {
            let mut b = buf.clone();
            b[i] ^= 0x10;
            assert!(decode(&b).is_err(), "flip at {i}");
        }
    }
}
