//! `WriteBatch`: an atomic group of puts and deletes, kept in its encoded form (the WAL
//! payload) so a write costs one copy into the log.
//!
//! Encoding (all integers little-endian, fixed width):
//!
//! ```text
//! +-----------+-----------+-----------+----------------------------------+
//! | crc32 u32 | seq u64   | count u32 | op 0 | op 1 | ... | op count-1    |
//! +-----------+-----------+-----------+----------------------------------+
//! op (put):    | kind u8 = 1 | key_len u32 | key | value_len u32 | value |
//! op (delete): | kind u8 = 0 | key_len u32 | key |
//! ```
//!
//! `crc32` (crc32fast) covers every byte after it. `seq` is the sequence number of op 0;
//! op i gets `seq + i`. The engine fills `seq` and the crc when it writes the batch.

use crate::error::{Error, Result};
use crate::lsm::key::{SEQ_MAX, SeqNo, ValueKind};

/// Bytes before the first op.
pub const HEADER_LEN: usize = 16;

/// Most ops a decoded batch may claim (a limit on what garbage can make us allocate).
pub const OPS_MAX: u32 = 1 << 24;

/// An atomic group of writes.
#[derive(Clone, PartialEq, Eq)]
pub struct WriteBatch {
    rep: Vec<u8>,
    count: u32,
}

impl std::fmt::Debug for WriteBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteBatch")
            .field("count", &self.count)
            .field("bytes", &self.rep.len())
            .finish()
    }
}

impl Default for WriteBatch {
    fn default() -> Self {
        Self::new()
    }
}

/// One operation of a batch, borrowed from its encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchOp<'a> {
    /// Set `key` to `value`.
    Put {
        /// The user key.
        key: &'a [u8],
        /// The value.
        value: &'a [u8],
    },
    /// Remove `key`.
    Delete {
        /// The user key.
        key: &'a [u8],
    },
}

impl<'a> BatchOp<'a> {
    /// The op's user key.
    pub fn key(&self) -> &'a [u8] {
        match self {
            BatchOp::Put { key, .. } | BatchOp::Delete { key } => key,
        }
    }
}

fn corrupt(offset: usize, reason: impl Into<String>) -> Error {
    Error::corruption("write batch", offset as u64, reason)
}

fn read_u32(buf: &[u8], at: usize) -> Option<u32> {
    let bytes = buf.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(bytes.try_into().ok()?))
}

fn read_u64(buf: &[u8], at: usize) -> Option<u64> {
    let bytes = buf.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(bytes.try_into().ok()?))
}

/// Parses the op at `at`; returns it and the offset after it. Never panics.
fn parse_op(buf: &[u8], at: usize) -> Result<(BatchOp<'_>, usize)> {
    let kind = *buf
        .get(at)
        .ok_or_else(|| corrupt(at, "truncated op kind"))?;
    let kind = ValueKind::from_u8(kind).ok_or_else(|| corrupt(at, "unknown op kind"))?;
    let key_len = read_u32(buf, at + 1).ok_or_else(|| corrupt(at, "truncated key length"))?;
    let key_start = at + 5;
    let key_end = key_start
        .checked_add(key_len as usize)
        .filter(|end| *end <= buf.len())
        .ok_or_else(|| corrupt(at, "key runs past the end"))?;
    let key = &buf[key_start..key_end];
    match kind {
        ValueKind::Delete => Ok((BatchOp::Delete { key }, key_end)),
        ValueKind::Put => {
            let val_len =
                read_u32(buf, key_end).ok_or_else(|| corrupt(key_end, "truncated value length"))?;
            let val_start = key_end + 4;
            let val_end = val_start
                .checked_add(val_len as usize)
                .filter(|end| *end <= buf.len())
                .ok_or_else(|| corrupt(key_end, "value runs past the end"))?;
            Ok((
                BatchOp::Put {
                    key,
                    value: &buf[val_start..val_end],
                },
                val_end,
            ))
        }
    }
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        let mut rep = Vec::with_capacity(64);
        rep.resize(HEADER_LEN, 0);
        WriteBatch { rep, count: 0 }
    }

    /// An empty batch with room for `bytes` of ops without reallocating.
    pub fn with_capacity(bytes: usize) -> Self {
        let mut rep = Vec::with_capacity(HEADER_LEN + bytes);
        rep.resize(HEADER_LEN, 0);
        WriteBatch { rep, count: 0 }
    }

    /// Bytes one put of these sizes takes in the encoding.
    pub fn put_len(key_len: usize, value_len: usize) -> usize {
        9 + key_len + value_len
    }

    /// Adds a put of `key` = `value`.
    pub fn put(&mut self, key: &[u8], value: &[u8]) {
        self.rep.reserve(9 + key.len() + value.len());
        self.rep.push(ValueKind::Put as u8);
        self.rep
            .extend_from_slice(&(key.len() as u32).to_le_bytes());
        self.rep.extend_from_slice(key);
        self.rep
            .extend_from_slice(&(value.len() as u32).to_le_bytes());
        self.rep.extend_from_slice(value);
        self.count += 1;
    }

    /// Adds a delete of `key`.
    pub fn delete(&mut self, key: &[u8]) {
        self.rep.push(ValueKind::Delete as u8);
        self.rep
            .extend_from_slice(&(key.len() as u32).to_le_bytes());
        self.rep.extend_from_slice(key);
        self.count += 1;
    }

    /// Number of ops.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// True when the batch holds no op.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Removes every op.
    pub fn clear(&mut self) {
        self.rep.truncate(HEADER_LEN);
        self.count = 0;
    }

    /// Sequence number of the first op (0 until the engine assigns one).
    pub fn seq(&self) -> SeqNo {
        SeqNo(read_u64(&self.rep, 4).unwrap_or(0))
    }

    /// Size of the encoding in bytes.
    pub fn encoded_len(&self) -> usize {
        self.rep.len()
    }

    /// Sets the first op's sequence number and seals the header (count and crc); returns
    /// the encoding.
    pub fn seal(&mut self, seq: SeqNo) -> &[u8] {
        self.rep[4..12].copy_from_slice(&seq.0.to_le_bytes());
        self.rep[12..16].copy_from_slice(&self.count.to_le_bytes());
        let crc = crc32fast::hash(&self.rep[4..]);
        self.rep[0..4].copy_from_slice(&crc.to_le_bytes());
        &self.rep
    }

    /// The sealed encoding (call [`WriteBatch::seal`] first, or use a decoded batch).
    pub fn encoded(&self) -> &[u8] {
        &self.rep
    }

    /// The ops, in order.
    pub fn iter(&self) -> BatchIter<'_> {
        BatchIter {
            buf: &self.rep,
            at: HEADER_LEN,
            left: self.count,
        }
    }

    /// Decodes and fully validates an encoding: crc, count, every op, no trailing bytes,
    /// sequence numbers in range. Never panics, whatever the input.
    pub fn decode(bytes: &[u8]) -> Result<WriteBatch> {
        if bytes.len() < HEADER_LEN {
            return Err(corrupt(0, "shorter than the batch header"));
        }
        let stored = read_u32(bytes, 0).ok_or_else(|| corrupt(0, "no crc"))?;
        if crc32fast::hash(&bytes[4..]) != stored {
            return Err(corrupt(0, "crc mismatch"));
        }
        let seq = read_u64(bytes, 4).ok_or_else(|| corrupt(4, "no seq"))?;
        let count = read_u32(bytes, 12).ok_or_else(|| corrupt(12, "no count"))?;
        if count > OPS_MAX {
            return Err(corrupt(12, "op count over the limit"));
        }
        if seq
            .checked_add(u64::from(count))
            .is_none_or(|end| end > SEQ_MAX)
        {
            return Err(corrupt(4, "sequence numbers out of range"));
        }
        let mut at = HEADER_LEN;
        for _ in 0..count {
            let (_, next) = parse_op(bytes, at)?;
            at = next;
        }
        if at != bytes.len() {
            return Err(corrupt(at, "trailing bytes after the last op"));
        }
        Ok(WriteBatch {
            rep: bytes.to_vec(),
            count,
        })
    }
}

/// Iterator over a batch's ops.
#[derive(Debug)]
pub struct BatchIter<'a> {
    buf: &'a [u8],
    at: usize,
    left: u32,
}

impl<'a> Iterator for BatchIter<'a> {
    type Item = BatchOp<'a>;

    fn next(&mut self) -> Option<BatchOp<'a>> {
        if self.left == 0 {
            return None;
        }
        let (op, next) = parse_op(self.buf, self.at).ok()?;
        self.at = next;
        self.left -= 1;
        Some(op)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sealed_batch_round_trips() {
        let mut b = WriteBatch::new();
        b.put(b"a", b"1");
        b.delete(b"b");
        b.put(b"c", b"");
        let bytes = b.seal(SeqNo(42)).to_vec();
        let d = WriteBatch::decode(&bytes).unwrap();
        assert_eq!(d.seq(), SeqNo(42));
        let ops: Vec<_> = d.iter().collect();
        assert_eq!(
            ops,
            vec![
                BatchOp::Put {
                    key: b"a",
                    value: b"1"
                },
                BatchOp::Delete { key: b"b" },
                BatchOp::Put {
                    key: b"c",
                    value: b""
                },
            ]
        );
    }

    #[test]
    fn any_bit_flip_is_detected() {
        let mut b = WriteBatch::new();
        b.put(b"key", b"value");
        let bytes = b.seal(SeqNo(1)).to_vec();
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x10;
            assert!(WriteBatch::decode(&bad).is_err(), "flip at {i}");
        }
        assert!(WriteBatch::decode(&bytes[..bytes.len() - 1]).is_err());
    }

    proptest! {
        #[test]
        fn round_trip(ops in proptest::collection::vec(
            (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..20),
             proptest::collection::vec(any::<u8>(), 0..40)), 0..20),
            seq in 0..1_000_000u64) {
            let mut b = WriteBatch::new();
            for (put, k, v) in &ops {
                if *put { b.put(k, v) } else { b.delete(k) }
            }
            let bytes = b.seal(SeqNo(seq)).to_vec();
            let d = WriteBatch::decode(&bytes).unwrap();
            prop_assert_eq!(d.len(), ops.len());
            prop_assert_eq!(d.seq(), SeqNo(seq));
            for (op, (put, k, v)) in d.iter().zip(&ops) {
                match op {
                    BatchOp::Put { key, value } => {
                        prop_assert!(*put);
                        prop_assert_eq!(key, &k[..]);
                        prop_assert_eq!(value, &v[..]);
                    }
                    BatchOp::Delete { key } => {
                        prop_assert!(!*put);
                        prop_assert_eq!(key, &k[..]);
                    }
                }
            }
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = WriteBatch::decode(&bytes);
        }

        #[test]
        fn decode_never_panics_on_valid_crc(body in proptest::collection::vec(any::<u8>(), 12..200)) {
            let mut bytes = vec![0u8; 4];
            bytes.extend_from_slice(&body);
            let crc = crc32fast::hash(&bytes[4..]);
            bytes[..4].copy_from_slice(&crc.to_le_bytes());
            let _ = WriteBatch::decode(&bytes);
        }
    }
}
