//! The manifest: a log of CRC-framed [`VersionEdit`] records replayed on open, and the
//! `CURRENT` file that names the live manifest.
//!
//! ```text
//! record:  | payload_len u32 | crc32 u32 (of payload) | payload (payload_len bytes) |
//! payload: a sequence of fields, each | tag u8 | body |
//!   1 AddTable     | level u32 | id u64 | size u64 | entries u64 | tombstones u64 |
//!                  | smallest_seq u64 | largest_seq u64 |
//!                  | smallest_len u32 | smallest internal key | largest_len u32 | largest |
//!   2 RemoveTable  | level u32 | id u64 |
//!   3 NextFile     | u64 |      4 LastSeq | u64 |
//!   5 AppliedIndex | u64 |      6 LogPosition | u64 |
//! CURRENT: the ASCII name of the manifest ("MANIFEST-000012") and a newline, replaced
//! by writing CURRENT.tmp, syncing it, renaming it over CURRENT and syncing the directory.
//! ```
//!
//! A record is applied only once it is synced. A bad record that ends exactly at the end
//! of the file (a torn append) is ignored; any other bad record is `Corruption`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::fs::{FileSystem, WritableFile};
use crate::lsm::policy::TableId;

/// Largest manifest record accepted.
pub const RECORD_LEN_MAX: u32 = 64 << 20;
/// A manifest is rewritten from a snapshot once it grows past this.
pub const ROLL_SIZE_BYTES: u64 = 4 << 20;
/// Levels of the tree (0..LEVELS_MAX).
pub const LEVELS_MAX: u32 = 7;

/// What the manifest knows of one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableMeta {
    /// File number, also the table's id.
    pub id: TableId,
    /// File size.
    pub size_bytes: u64,
    /// Entries, tombstones included.
    pub entries: u64,
    /// Tombstones.
    pub tombstones: u64,
    /// Smallest and largest internal keys.
    pub smallest_key: Vec<u8>,
    /// Largest internal key.
    pub largest_key: Vec<u8>,
    /// Smallest sequence number.
    pub smallest_seq: u64,
    /// Largest sequence number.
    pub largest_seq: u64,
}

/// One atomic change to the tree's shape and counters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VersionEdit {
    /// Tables added, with their level.
    pub adds: Vec<(u32, TableMeta)>,
    /// Tables removed, with their level.
    pub removes: Vec<(u32, TableId)>,
    /// Next unused file number.
    pub next_file: Option<u64>,
    /// Every sequence number <= this is allocated.
    pub last_seq: Option<u64>,
    /// Highest caller applied index persisted in tables.
    pub applied_index: Option<u64>,
    /// WAL position from which recovery replays.
    pub log_position: Option<u64>,
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}
fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// A bounds-checked reader over a payload.
struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let out = self.buf.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(out)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.bytes(1)?[0])
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.bytes(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.bytes(8)?.try_into().ok()?))
    }
    fn vec(&mut self) -> Option<Vec<u8>> {
        let n = self.u32()? as usize;
        Some(self.bytes(n)?.to_vec())
    }
}

impl VersionEdit {
    /// Encodes the edit's payload (without framing).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (level, t) in &self.adds {
            out.push(1);
            put_u32(&mut out, *level);
            for v in [t.id.0, t.size_bytes, t.entries, t.tombstones] {
                put_u64(&mut out, v);
            }
            put_u64(&mut out, t.smallest_seq);
            put_u64(&mut out, t.largest_seq);
            for k in [&t.smallest_key, &t.largest_key] {
                put_u32(&mut out, k.len() as u32);
                out.extend_from_slice(k);
            }
        }
        for (level, id) in &self.removes {
            out.push(2);
            put_u32(&mut out, *level);
            put_u64(&mut out, id.0);
        }
        let scalars = [
            (3, self.next_file),
            (4, self.last_seq),
            (5, self.applied_index),
            (6, self.log_position),
        ];
        for (tag, v) in scalars {
            if let Some(v) = v {
                out.push(tag);
                put_u64(&mut out, v);
            }
        }
        out
    }

    /// Decodes a payload. Never panics; any malformed field is an error naming its offset.
    pub fn decode(payload: &[u8]) -> Result<VersionEdit> {
        let mut r = Reader {
            buf: payload,
            at: 0,
        };
        let mut edit = VersionEdit::default();
        while r.at < payload.len() {
            let field_at = r.at as u64;
            let bad = |why: &str| Error::corruption("manifest record", field_at, why);
            let tag = r.u8().ok_or_else(|| bad("truncated tag"))?;
            match tag {
                1 => {
                    let level = r.u32().ok_or_else(|| bad("truncated level"))?;
                    if level >= LEVELS_MAX {
                        return Err(bad("level out of range"));
                    }
                    let mut nums = [0u64; 6];
                    for n in &mut nums {
                        *n = r.u64().ok_or_else(|| bad("truncated table field"))?;
                    }
                    let smallest_key = r.vec().ok_or_else(|| bad("truncated smallest key"))?;
                    let largest_key = r.vec().ok_or_else(|| bad("truncated largest key"))?;
                    let [
                        id,
                        size_bytes,
                        entries,
                        tombstones,
                        smallest_seq,
                        largest_seq,
                    ] = nums;
                    edit.adds.push((
                        level,
                        TableMeta {
                            id: TableId(id),
                            size_bytes,
                            entries,
                            tombstones,
                            smallest_key,
                            largest_key,
                            smallest_seq,
                            largest_seq,
                        },
                    ));
                }
                2 => {
                    let level = r.u32().ok_or_else(|| bad("truncated level"))?;
                    if level >= LEVELS_MAX {
                        return Err(bad("level out of range"));
                    }
                    let id = r.u64().ok_or_else(|| bad("truncated table id"))?;
                    edit.removes.push((level, TableId(id)));
                }
                3..=6 => {
                    let v = Some(r.u64().ok_or_else(|| bad("truncated counter"))?);
                    match tag {
                        3 => edit.next_file = v,
                        4 => edit.last_seq = v,
                        5 => edit.applied_index = v,
                        _ => edit.log_position = v,
                    }
                }
                _ => return Err(bad("unknown field tag")),
            }
        }
        Ok(edit)
    }
}

/// Frames a payload as a manifest record.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 8);
    put_u32(&mut out, payload.len() as u32);
    put_u32(&mut out, crc32fast::hash(payload));
    out.extend_from_slice(payload);
    out
}

/// Decodes a whole manifest file. Returns the edits and whether a torn tail was ignored.
/// Never panics.
pub fn decode_log(file: &Path, bytes: &[u8]) -> Result<(Vec<VersionEdit>, bool)> {
    let mut edits = Vec::new();
    let mut at = 0usize;
    while at < bytes.len() {
        let rest = &bytes[at..];
        if rest.len() < 8 {
            return Ok((edits, true));
        }
        let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
        let crc = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
        if len > RECORD_LEN_MAX {
            return Err(Error::corruption(
                file,
                at as u64,
                "record length over the limit",
            ));
        }
        let end = 8 + len as usize;
        if end > rest.len() {
            return Ok((edits, true));
        }
        let payload = &rest[8..end];
        if crc32fast::hash(payload) != crc {
            if end == rest.len() {
                return Ok((edits, true));
            }
            return Err(Error::corruption(file, at as u64, "record crc mismatch"));
        }
        let edit = VersionEdit::decode(payload).map_err(|e| match e {
            Error::Corruption { offset, reason, .. } => {
                Error::corruption(file, at as u64 + 8 + offset, reason)
            }
            other => other,
        })?;
        edits.push(edit);
        at += end;
    }
    Ok((edits, false))
}

/// Name of manifest number `n`.
pub fn manifest_name(n: u64) -> String {
    format!("MANIFEST-{n:06}")
}

/// Parses a manifest file name.
pub fn parse_manifest_name(name: &str) -> Option<u64> {
    name.strip_prefix("MANIFEST-")?.parse().ok()
}

/// Reads CURRENT: `Ok(None)` if absent (a new database).
pub fn read_current(fs: &dyn FileSystem, dir: &Path) -> Result<Option<u64>> {
    let path = dir.join("CURRENT");
    if !fs.exists(&path) {
        return Ok(None);
    }
    let bytes = fs.read_all(&path)?;
    let name = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|s| s.strip_suffix('\n'))
        .and_then(parse_manifest_name)
        .ok_or_else(|| Error::corruption(&path, 0, "CURRENT does not name a manifest"))?;
    Ok(Some(name))
}

/// Points CURRENT at manifest `n` atomically (tmp file, sync, rename, dir sync).
pub fn write_current(fs: &dyn FileSystem, dir: &Path, n: u64) -> Result<()> {
    let tmp = dir.join("CURRENT.tmp");
    let f = fs.create(&tmp)?;
    f.append(format!("{}\n", manifest_name(n)).as_bytes())?;
    f.sync()?;
    fs.rename(&tmp, &dir.join("CURRENT"))?;
    fs.sync_dir(dir)
}

/// The open, appendable manifest.
#[derive(Debug)]
pub struct ManifestWriter {
    file: Arc<dyn WritableFile>,
    path: PathBuf,
    number: u64,
}

impl ManifestWriter {
    /// Creates manifest `number` holding `snapshot`, makes it durable and points CURRENT
    /// at it.
    pub fn create(
        fs: &dyn FileSystem,
        dir: &Path,
        number: u64,
        snapshot: &VersionEdit,
    ) -> Result<Self> {
        let path = dir.join(manifest_name(number));
        let file = fs.create(&path)?;
        file.append(&frame(&snapshot.encode()))?;
        file.sync()?;
        fs.sync_dir(dir)?;
        write_current(fs, dir, number)?;
        Ok(ManifestWriter { file, path, number })
    }

    /// Appends one edit and syncs it: when this returns Ok the edit is durable.
    pub fn append(&self, edit: &VersionEdit) -> Result<()> {
        self.file.append(&frame(&edit.encode()))?;
        self.file.sync()
    }

    /// Current size, to decide when to roll.
    pub fn size_bytes(&self) -> u64 {
        self.file.len()
    }

    /// The manifest's file number.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The manifest's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn meta(id: u64) -> TableMeta {
        TableMeta {
            id: TableId(id),
            size_bytes: 100,
            entries: 3,
            tombstones: 1,
            smallest_key: b"a\0\0\0\0\0\0\0\0".to_vec(),
            largest_key: b"z\0\0\0\0\0\0\0\0".to_vec(),
            smallest_seq: 1,
            largest_seq: 9,
        }
    }

    fn sample() -> VersionEdit {
        VersionEdit {
            adds: vec![(0, meta(5)), (3, meta(6))],
            removes: vec![(1, TableId(2))],
            next_file: Some(7),
            last_seq: Some(99),
            applied_index: Some(12),
            log_position: Some(4096),
        }
    }

    #[test]
    fn edit_round_trips() {
        let e = sample();
        assert_eq!(VersionEdit::decode(&e.encode()).unwrap(), e);
    }

    #[test]
    fn torn_tail_is_ignored_but_mid_log_damage_is_corruption() {
        let mut log = frame(&sample().encode());
        log.extend(frame(&sample().encode()));
        let p = Path::new("MANIFEST-000001");
        for cut in 0..log.len() {
            let (edits, _) = decode_log(p, &log[..cut]).unwrap();
            assert!(edits.len() <= 1);
        }
        let mut bad = log.clone();
        bad[10] ^= 1;
        assert!(decode_log(p, &bad).unwrap_err().is_corruption());
        let mut tail = log.clone();
        let n = tail.len();
        tail[n - 1] ^= 1;
        let (edits, torn) = decode_log(p, &tail).unwrap();
        assert_eq!((edits.len(), torn), (1, true));
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = VersionEdit::decode(&bytes);
            let _ = decode_log(Path::new("m"), &bytes);
        }

        #[test]
        fn round_trip_any(ids in proptest::collection::vec(0..1000u64, 0..5),
                          ls in proptest::option::of(any::<u64>())) {
            let e = VersionEdit {
                adds: ids.iter().map(|i| (1, meta(*i))).collect(),
                removes: ids.iter().map(|i| (2, TableId(*i))).collect(),
                last_seq: ls,
                ..Default::default()
            };
            prop_assert_eq!(VersionEdit::decode(&e.encode()).unwrap(), e);
        }
    }
}
