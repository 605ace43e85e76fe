//! The KV state machine the simulated group replicates: `put`, `get` and `cas` on a small
//! key space, commands encoded into log entries, and a snapshot format so a node can be
//! rebuilt from a Raft snapshot plus the committed log after a crash.

use std::collections::BTreeMap;

/// A key (the workload uses a handful, so clients contend).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key(pub u8);

/// A value. Every write in a run writes a value nobody wrote before; `Value::ABSENT` is
/// what an unwritten key reads as.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Value(pub u64);

impl Value {
    /// The value of a key nobody has written.
    pub const ABSENT: Value = Value(0);
}

/// A simulated client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClientId(pub u32);

/// One KV operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KvOp {
    /// Set `key` to `value`.
    Put {
        /// Key written.
        key: Key,
        /// Value written (unique in the run).
        value: Value,
    },
    /// Read `key` through the log (a linearizable read by construction).
    Get {
        /// Key read.
        key: Key,
    },
    /// Set `key` to `new` only if it currently holds `expected`.
    Cas {
        /// Key written.
        key: Key,
        /// Value the key must hold for the swap to happen.
        expected: Value,
        /// Value written on success (unique in the run).
        new: Value,
    },
}

impl KvOp {
    /// The key the operation touches.
    pub fn key(&self) -> Key {
        match *self {
            KvOp::Put { key, .. } | KvOp::Get { key } | KvOp::Cas { key, .. } => key,
        }
    }
}

/// What applying an operation returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KvOutput {
    /// The put happened.
    Put,
    /// The value read.
    Get(Value),
    /// Whether the swap happened.
    Cas(bool),
}

/// A command as stored in a log entry: who asked, which of their requests, and the op.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Command {
    /// Issuing client.
    pub client: ClientId,
    /// The client's request number (the client matches replies with it).
    pub request: u64,
    /// The operation.
    pub op: KvOp,
}

/// Length of every encoded command: tag, client, request, key, two values.
const COMMAND_LEN: usize = 1 + 4 + 8 + 1 + 8 + 8;

impl Command {
    /// Fixed-width little-endian encoding.
    pub fn encode(&self) -> Vec<u8> {
        let (tag, key, a, b) = match self.op {
            KvOp::Put { key, value } => (1u8, key, value, Value::ABSENT),
            KvOp::Get { key } => (2u8, key, Value::ABSENT, Value::ABSENT),
            KvOp::Cas { key, expected, new } => (3u8, key, expected, new),
        };
        let mut out = Vec::with_capacity(COMMAND_LEN);
        out.push(tag);
        out.extend_from_slice(&self.client.0.to_le_bytes());
        out.extend_from_slice(&self.request.to_le_bytes());
        out.push(key.0);
        out.extend_from_slice(&a.0.to_le_bytes());
        out.extend_from_slice(&b.0.to_le_bytes());
        out
    }

    /// Decodes `encode`'s output; `None` for anything else (e.g. an empty no-op payload).
    pub fn decode(bytes: &[u8]) -> Option<Command> {
        if bytes.len() != COMMAND_LEN {
            return None;
        }
        let u32_at = |at: usize| {
            bytes
                .get(at..at + 4)?
                .try_into()
                .ok()
                .map(u32::from_le_bytes)
        };
        let u64_at = |at: usize| {
            bytes
                .get(at..at + 8)?
                .try_into()
                .ok()
                .map(u64::from_le_bytes)
        };
        let client = ClientId(u32_at(1)?);
        let request = u64_at(5)?;
        let key = Key(*bytes.get(13)?);
        let a = Value(u64_at(14)?);
        let b = Value(u64_at(22)?);
        let op = match bytes.first()? {
            1 => KvOp::Put { key, value: a },
            2 => KvOp::Get { key },
            3 => KvOp::Cas {
                key,
                expected: a,
                new: b,
            },
            _ => return None,
        };
        Some(Command {
            client,
            request,
            op,
        })
    }
}

/// The replicated map. Deterministic: same commands in the same order, same state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KvStore {
    map: BTreeMap<Key, Value>,
}

impl KvStore {
    /// Applies one operation and returns its result.
    pub fn apply(&mut self, op: &KvOp) -> KvOutput {
        match *op {
            KvOp::Put { key, value } => {
                self.map.insert(key, value);
                KvOutput::Put
            }
            KvOp::Get { key } => KvOutput::Get(self.get(key)),
            KvOp::Cas { key, expected, new } => {
                let ok = self.get(key) == expected;
                if ok {
                    self.map.insert(key, new);
                }
                KvOutput::Cas(ok)
            }
        }
    }

    /// Current value of `key` (`Value::ABSENT` if never written).
    pub fn get(&self, key: Key) -> Value {
        self.map.get(&key).copied().unwrap_or(Value::ABSENT)
    }

    /// Every key written so far with its value.
    pub fn entries(&self) -> impl Iterator<Item = (Key, Value)> + '_ {
        self.map.iter().map(|(k, v)| (*k, *v))
    }

    /// Snapshot bytes: `(key u8, value u64 LE)` pairs in key order.
    pub fn snapshot(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.map.len() * 9);
        for (k, v) in &self.map {
            out.push(k.0);
            out.extend_from_slice(&v.0.to_le_bytes());
        }
        out
    }

    /// Rebuilds a store from `snapshot` bytes; `None` if they are malformed.
    pub fn restore(bytes: &[u8]) -> Option<KvStore> {
        if !bytes.len().is_multiple_of(9) {
            return None;
        }
        let mut map = BTreeMap::new();
        for rec in bytes.chunks_exact(9) {
            let key = Key(*rec.first()?);
            let value = Value(u64::from_le_bytes(rec.get(1..9)?.try_into().ok()?));
            map.insert(key, value);
        }
        Some(KvStore { map })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_round_trip_and_garbage_is_rejected() {
        let ops = [
            KvOp::Put {
                key: Key(3),
                value: Value(77),
            },
            KvOp::Get { key: Key(0) },
            KvOp::Cas {
                key: Key(255),
                expected: Value(u64::MAX),
                new: Value(1),
            },
        ];
        for (i, op) in ops.into_iter().enumerate() {
            let c = Command {
                client: ClientId(9),
                request: i as u64 + 100,
                op,
            };
            assert_eq!(Command::decode(&c.encode()), Some(c));
        }
        assert_eq!(Command::decode(&[]), None);
        let mut bad = ops_bytes();
        bad[0] = 9;
        assert_eq!(Command::decode(&bad), None);
    }

    fn ops_bytes() -> Vec<u8> {
        Command {
            client: ClientId(1),
            request: 1,
            op: KvOp::Get { key: Key(1) },
        }
        .encode()
    }

    #[test]
    fn apply_semantics_and_snapshot_round_trip() {
        let mut kv = KvStore::default();
        let k = Key(1);
        assert_eq!(
            kv.apply(&KvOp::Get { key: k }),
            KvOutput::Get(Value::ABSENT)
        );
        let cas = |expected, new| KvOp::Cas {
            key: k,
            expected: Value(expected),
            new: Value(new),
        };
        assert_eq!(kv.apply(&cas(5, 6)), KvOutput::Cas(false));
        assert_eq!(kv.apply(&cas(0, 6)), KvOutput::Cas(true));
        assert_eq!(
            kv.apply(&KvOp::Put {
                key: Key(2),
                value: Value(8)
            }),
            KvOutput::Put
        );
        assert_eq!(kv.get(k), Value(6));
        let back = KvStore::restore(&kv.snapshot()).unwrap();
        assert_eq!(back, kv);
        assert!(KvStore::restore(&[1, 2]).is_none());
    }
}
