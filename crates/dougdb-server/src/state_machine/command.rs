//! The replicated command: the `data` of every `EntryKind::Normal` entry of a shard's log.
//! Fixed-width little-endian, versioned, decoded by a total (panic-free) decoder that
//! also refuses trailing bytes.
//!
//! ```text
//! header (18 B):  version u8 = 1 | op u8 | client_id u64 | sequence u64
//! op 1 Put:       key_len u32 | key | value_len u32 | value
//! op 2 Delete:    key_len u32 | key
//! op 3 Cas:       key_len u32 | key | flags u8 (bit 0: expected present,
//!                 bit 1: new value present; other bits 0)
//!                 | [expected_len u32 | expected] | [new_len u32 | new]
//! op 4 Batch:     count u32 | count x (kind u8 (1 put, 2 delete) | key_len u32 | key
//!                 | [value_len u32 | value, for a put])
//! ```
//! `client_id` 0 means untagged (no exactly-once deduplication).

use crate::error::{Error, Result};

const VERSION: u8 = 1;

/// Exactly-once tag of a write. A client id has at most one write in flight, with
/// increasing sequences; concurrent writers use distinct client ids.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct WriteTag {
    /// 0: untagged.
    pub client_id: u64,
    /// Increases with every new write of the client.
    pub sequence: u64,
}

/// One operation of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchOp {
    /// Set a key.
    Put {
        /// Key.
        key: Vec<u8>,
        /// Value.
        value: Vec<u8>,
    },
    /// Delete a key.
    Delete {
        /// Key.
        key: Vec<u8>,
    },
}

/// What a command does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Set `key` to `value`.
    Put {
        /// Key.
        key: Vec<u8>,
        /// Value.
        value: Vec<u8>,
    },
    /// Delete `key`; the outcome says whether it existed.
    Delete {
        /// Key.
        key: Vec<u8>,
    },
    /// If `key`'s value equals `expected` (`None`: absent), set it to `new_value`
    /// (`None`: delete).
    Cas {
        /// Key.
        key: Vec<u8>,
        /// Expected current value.
        expected: Option<Vec<u8>>,
        /// Value to set on success.
        new_value: Option<Vec<u8>>,
    },
    /// Puts and deletes applied atomically, in order.
    Batch(Vec<BatchOp>),
}

/// A replicated write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// Exactly-once tag.
    pub tag: WriteTag,
    /// The operation.
    pub op: Op,
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

impl Command {
    /// Encodes the command (lengths must fit in u32: [`super::Limits::check`] ensures it).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.push(VERSION);
        out.push(match self.op {
            Op::Put { .. } => 1,
            Op::Delete { .. } => 2,
            Op::Cas { .. } => 3,
            Op::Batch(_) => 4,
        });
        out.extend_from_slice(&self.tag.client_id.to_le_bytes());
        out.extend_from_slice(&self.tag.sequence.to_le_bytes());
        match &self.op {
            Op::Put { key, value } => {
                put_bytes(&mut out, key);
                put_bytes(&mut out, value);
            }
            Op::Delete { key } => put_bytes(&mut out, key),
            Op::Cas {
                key,
                expected,
                new_value,
            } => {
                put_bytes(&mut out, key);
                out.push(u8::from(expected.is_some()) | (u8::from(new_value.is_some()) << 1));
                for v in [expected, new_value].into_iter().flatten() {
                    put_bytes(&mut out, v);
                }
            }
            Op::Batch(ops) => {
                out.extend_from_slice(&(ops.len() as u32).to_le_bytes());
                for op in ops {
                    match op {
                        BatchOp::Put { key, value } => {
                            out.push(1);
                            put_bytes(&mut out, key);
                            put_bytes(&mut out, value);
                        }
                        BatchOp::Delete { key } => {
                            out.push(2);
                            put_bytes(&mut out, key);
                        }
                    }
                }
            }
        }
        out
    }

    /// Decodes a command; never panics.
    pub fn decode(buf: &[u8]) -> Result<Command> {
        let mut r = Cursor { buf, at: 0 };
        if r.u8()? != VERSION {
            return Err(r.err("unknown command version"));
        }
        let op = r.u8()?;
        let tag = WriteTag {
            client_id: r.u64()?,
            sequence: r.u64()?,
        };
        let op = match op {
            1 => Op::Put {
                key: r.bytes()?,
                value: r.bytes()?,
            },
            2 => Op::Delete { key: r.bytes()? },
            3 => {
                let key = r.bytes()?;
                let flags = r.u8()?;
                if flags & !3 != 0 {
                    return Err(r.err("unknown cas flags"));
                }
                let expected = if flags & 1 != 0 {
                    Some(r.bytes()?)
                } else {
                    None
                };
                let new_value = if flags & 2 != 0 {
                    Some(r.bytes()?)
                } else {
                    None
                };
                Op::Cas {
                    key,
                    expected,
                    new_value,
                }
            }
            4 => {
                let count = r.u32()?;
                // Each op takes at least 5 bytes: refuse counts the buffer cannot hold
                // before allocating for them.
                if u64::from(count) * 5 > (buf.len() - r.at) as u64 {
                    return Err(r.err("batch count larger than the command"));
                }
                let mut ops = Vec::with_capacity(count as usize);
                for _ in 0..count {
                    ops.push(match r.u8()? {
                        1 => BatchOp::Put {
                            key: r.bytes()?,
                            value: r.bytes()?,
                        },
                        2 => BatchOp::Delete { key: r.bytes()? },
                        _ => return Err(r.err("unknown batch op")),
                    });
                }
                Op::Batch(ops)
            }
            _ => return Err(r.err("unknown op")),
        };
        if r.at != buf.len() {
            return Err(r.err("trailing bytes"));
        }
        Ok(Command { tag, op })
    }
}

/// A little-endian reader that reports where it failed instead of panicking.
struct Cursor<'a> {
    buf: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn err(&self, reason: &'static str) -> Error {
        Error::BadCommand {
            offset: self.at as u64,
            reason,
        }
    }
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.buf.len());
        let Some(end) = end else {
            return Err(self.err("truncated"));
        };
        let s = &self.buf[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
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
    fn bytes(&mut self) -> Result<Vec<u8>> {
        let n = self.u32()? as usize;
        Ok(self.take(n)?.to_vec())
    }
}
