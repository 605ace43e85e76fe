//! The snapshot of a shard's state machine (the `data` of a Raft snapshot): its LSM
//! tables as files, the applied index, and the exactly-once table. Versioned, and every
//! byte is under a CRC32 (crc32fast), so a flipped bit or a cut anywhere is an error
//! (`Error::Storage { Corruption }`), never a wrong state. Little-endian, fixed widths:
//!
//! ```text
//! header (40 B)
//!   0  magic "DOUGSNP\0"   8  version u32 = 1   12 applied_index u64   20 last_seq u64
//!   28 session_count u32   32 table_count u32   36 header_crc u32 (of bytes 0..36)
//! sessions: session_count x
//!   client_id u64 | sequence u64 | index u64 | outcome_len u32 | outcome (outcome.rs)
//!   then sessions_crc u32 (of the whole session list; present when the count is 0)
//! tables: table_count x
//!   level u32 | size u64 | data_crc u32 | name_len u16 | name (ASCII)
//!   | meta_crc u32 (of level..name) | data (size bytes: the SSTable file, data_crc of it)
//! trailer: end magic "DOUGSNPE" (8 B), then nothing
//! ```
//!
//! Membership is not here: it travels in the Raft snapshot's metadata. The session list
//! duplicates what the tables hold under the reserved prefix; installation checks that
//! both agree. The whole snapshot is one `Vec<u8>` in memory while it is built, stored
//! and sent (see docs/storage.md for the bound).

use std::path::PathBuf;

use super::outcome::Outcome;
use super::sessions::Session;
use crate::error::{Error, Result};

const MAGIC: &[u8; 8] = b"DOUGSNP\0";
const END_MAGIC: &[u8; 8] = b"DOUGSNPE";
/// Format version written and accepted.
pub const SNAPSHOT_VERSION: u32 = 1;
const HEADER_LEN: usize = 40;
/// Smallest encoded session (an outcome is at least one byte).
const SESSION_LEN_MIN: usize = 8 * 3 + 4 + 1;
/// Smallest encoded table header (with an empty name) plus its CRC.
const TABLE_HEADER_LEN_MIN: usize = 4 + 8 + 4 + 2 + 4;

/// A decoded snapshot; table bytes borrow from the encoded buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotView<'a> {
    /// Index of the last entry whose effects the tables hold.
    pub applied_index: u64,
    /// Every LSM sequence number in the tables is <= this.
    pub last_seq: u64,
    /// The exactly-once table, by client id ascending.
    pub sessions: Vec<(u64, Session)>,
    /// The tables, in the source's level order.
    pub tables: Vec<SnapshotTable<'a>>,
}

/// One table of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotTable<'a> {
    /// Level in the source tree.
    pub level: u32,
    /// File name in the source (informational: the receiver numbers files itself).
    pub name: String,
    /// The SSTable file.
    pub bytes: &'a [u8],
}

/// Builds a snapshot: [`SnapshotWriter::new`], one [`SnapshotWriter::add_table`] per table
/// (in order), then [`SnapshotWriter::finish`].
#[derive(Debug)]
pub struct SnapshotWriter {
    out: Vec<u8>,
    tables_left: u32,
}

fn corrupt(offset: usize, reason: impl Into<String>) -> Error {
    Error::Storage {
        source: dougdb_storage::Error::corruption(
            PathBuf::from("raft snapshot data"),
            offset as u64,
            reason,
        ),
    }
}

impl SnapshotWriter {
    /// Starts a snapshot of `table_count` tables; `sessions` by client id ascending.
    /// `capacity_bytes` pre-sizes the buffer (the tables' total size).
    pub fn new(
        applied_index: u64,
        last_seq: u64,
        sessions: &[(u64, &Session)],
        table_count: u32,
        capacity_bytes: usize,
    ) -> SnapshotWriter {
        let mut out = Vec::with_capacity(capacity_bytes + 64 + sessions.len() * 40);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
        out.extend_from_slice(&applied_index.to_le_bytes());
        out.extend_from_slice(&last_seq.to_le_bytes());
        out.extend_from_slice(&(sessions.len() as u32).to_le_bytes());
        out.extend_from_slice(&table_count.to_le_bytes());
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        let start = out.len();
        for (id, s) in sessions {
            out.extend_from_slice(&id.to_le_bytes());
            out.extend_from_slice(&s.sequence.to_le_bytes());
            out.extend_from_slice(&s.index.to_le_bytes());
            let mut o = Vec::new();
            s.outcome.encode(&mut o);
            out.extend_from_slice(&(o.len() as u32).to_le_bytes());
            out.extend_from_slice(&o);
        }
        let crc = crc32fast::hash(&out[start..]);
        out.extend_from_slice(&crc.to_le_bytes());
        SnapshotWriter {
            out,
            tables_left: table_count,
        }
    }

    /// Adds the next table: `fill` appends exactly its bytes to the buffer it is given
    /// (so a table is read straight into the snapshot, without a second copy).
    pub fn add_table(
        &mut self,
        level: u32,
        name: &str,
        fill: impl FnOnce(&mut Vec<u8>) -> Result<()>,
    ) -> Result<()> {
        assert!(self.tables_left > 0, "more tables added than announced");
        self.tables_left -= 1;
        let name = name.as_bytes();
        let name_len = u16::try_from(name.len()).map_err(|_| Error::InvalidArgument {
            reason: "table name over 64 KiB".into(),
        })?;
        let meta_at = self.out.len();
        self.out.extend_from_slice(&level.to_le_bytes());
        self.out.extend_from_slice(&0u64.to_le_bytes()); // size, patched below
        self.out.extend_from_slice(&0u32.to_le_bytes()); // data_crc, patched below
        self.out.extend_from_slice(&name_len.to_le_bytes());
        self.out.extend_from_slice(name);
        let meta_end = self.out.len();
        self.out.extend_from_slice(&0u32.to_le_bytes()); // meta_crc, patched below
        let data_at = self.out.len();
        fill(&mut self.out)?;
        let size = (self.out.len() - data_at) as u64;
        let data_crc = crc32fast::hash(&self.out[data_at..]);
        self.out[meta_at + 4..meta_at + 12].copy_from_slice(&size.to_le_bytes());
        self.out[meta_at + 12..meta_at + 16].copy_from_slice(&data_crc.to_le_bytes());
        let meta_crc = crc32fast::hash(&self.out[meta_at..meta_end]);
        self.out[meta_end..meta_end + 4].copy_from_slice(&meta_crc.to_le_bytes());
        Ok(())
    }

    /// The encoded snapshot.
    pub fn finish(mut self) -> Vec<u8> {
        assert_eq!(self.tables_left, 0, "fewer tables added than announced");
        self.out.extend_from_slice(END_MAGIC);
        self.out
    }
}

/// A little-endian cursor that reports where it failed.
struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.buf.len());
        let Some(end) = end else {
            return Err(corrupt(self.at, "truncated snapshot"));
        };
        let s = &self.buf[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn left(&self) -> usize {
        self.buf.len() - self.at
    }
    fn u16(&mut self) -> Result<u16> {
        let mut a = [0u8; 2];
        a.copy_from_slice(self.take(2)?);
        Ok(u16::from_le_bytes(a))
    }
    fn u32(&mut self) -> Result<u32> {
        let mut a = [0u8; 4];
        a.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(a))
    }
    fn u64(&mut self) -> Result<u64> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }
    /// Checks the CRC32 stored next against `buf[from..self.at]`.
    fn check_crc(&mut self, from: usize, what: &str) -> Result<()> {
        let crc = crc32fast::hash(&self.buf[from..self.at]);
        let at = self.at;
        if self.u32()? != crc {
            return Err(corrupt(at, format!("{what} checksum mismatch")));
        }
        Ok(())
    }
}

/// Decodes and checks a whole snapshot. Total: any input gives a value or an error.
pub fn decode(data: &[u8]) -> Result<SnapshotView<'_>> {
    let mut r = Reader { buf: data, at: 0 };
    if r.take(8)? != MAGIC {
        return Err(corrupt(0, "not a DougDB snapshot (bad magic)"));
    }
    let version = r.u32()?;
    let applied_index = r.u64()?;
    let last_seq = r.u64()?;
    let session_count = r.u32()? as usize;
    let table_count = r.u32()? as usize;
    r.check_crc(0, "header")?;
    debug_assert_eq!(r.at, HEADER_LEN);
    if version != SNAPSHOT_VERSION {
        return Err(corrupt(8, format!("unknown snapshot version {version}")));
    }
    // Counts are CRC-checked, but refuse ones the buffer cannot hold before allocating.
    if session_count.saturating_mul(SESSION_LEN_MIN) > r.left()
        || table_count.saturating_mul(TABLE_HEADER_LEN_MIN) > r.left()
    {
        return Err(corrupt(28, "counts larger than the snapshot"));
    }
    let sessions = decode_sessions(&mut r, session_count)?;
    let mut tables = Vec::with_capacity(table_count);
    for i in 0..table_count {
        let meta_at = r.at;
        let level = r.u32()?;
        let size = r.u64()?;
        let data_crc = r.u32()?;
        let name_len = r.u16()? as usize;
        let name = r.take(name_len)?;
        r.check_crc(meta_at, &format!("table {i} header"))?;
        let name = std::str::from_utf8(name)
            .map_err(|_| corrupt(meta_at, format!("table {i}: name is not UTF-8")))?
            .to_owned();
        let size = usize::try_from(size)
            .map_err(|_| corrupt(meta_at, format!("table {i}: size {size} too large")))?;
        let data_at = r.at;
        let bytes = r.take(size)?;
        if crc32fast::hash(bytes) != data_crc {
            return Err(corrupt(
                data_at,
                format!("table {i} ({name}) checksum mismatch"),
            ));
        }
        tables.push(SnapshotTable { level, name, bytes });
    }
    let end_at = r.at;
    if r.take(8)? != END_MAGIC {
        return Err(corrupt(end_at, "bad end magic"));
    }
    if r.left() != 0 {
        return Err(corrupt(r.at, "trailing bytes after the snapshot"));
    }
    Ok(SnapshotView {
        applied_index,
        last_seq,
        sessions,
        tables,
    })
}

/// The session list and its CRC.
fn decode_sessions(r: &mut Reader<'_>, count: usize) -> Result<Vec<(u64, Session)>> {
    let sessions_at = r.at;
    let mut sessions = Vec::with_capacity(count);
    for _ in 0..count {
        let at = r.at;
        let id = r.u64()?;
        let sequence = r.u64()?;
        let index = r.u64()?;
        let len = r.u32()? as usize;
        let outcome = Outcome::decode(r.take(len)?)
            .map_err(|why| corrupt(at, format!("session of client {id}: {why}")))?;
        sessions.push((
            id,
            Session {
                sequence,
                index,
                outcome,
            },
        ));
    }
    r.check_crc(sessions_at, "session table")?;
    if sessions.windows(2).any(|w| w[0].0 >= w[1].0) {
        return Err(corrupt(sessions_at, "sessions not in client id order"));
    }
    Ok(sessions)
}
