//! The exactly-once table: per client id, the last sequence applied and its outcome.
//! It is part of the replicated state: kept in the LSM under
//! `INTERNAL_KEY_PREFIX ++ "session/" ++ client_id (u64 big-endian)`, written in the same
//! `WriteBatch` as the command it records (so it survives restarts and travels in
//! snapshots), and cached in memory.
//!
//! Value: `sequence u64 LE | index u64 LE (log index of that application) | outcome`.
//!
//! Bounded: past `capacity` clients, the one whose last write is oldest (lowest log
//! index) is evicted, in the same batch. Eviction depends only on the log, so every
//! replica evicts the same clients. A retry from an evicted client would apply again:
//! the capacity must exceed the number of clients with writes in flight.

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;

use dougdb_storage::lsm::{Db, WriteBatch};

use super::command::WriteTag;
use super::limits::INTERNAL_KEY_PREFIX;
use super::outcome::Outcome;
use crate::error::{Error, Result};

const SESSION_TAG: &[u8] = b"session/";

/// One client's entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// Last sequence applied.
    pub sequence: u64,
    /// Log index it was applied at.
    pub index: u64,
    /// Its outcome.
    pub outcome: Outcome,
}

/// What the table says about a tagged command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Check {
    /// Not seen: apply it.
    New,
    /// Already applied: answer with this outcome, apply nothing.
    Duplicate(Outcome),
    /// Older than the client's last applied write: apply nothing.
    Stale {
        /// The client's last applied sequence.
        last: u64,
    },
}

/// The in-memory copy of the table.
#[derive(Debug)]
pub struct Sessions {
    map: HashMap<u64, Session>,
    /// `(index, client_id)`: eviction order.
    by_age: BTreeSet<(u64, u64)>,
    capacity: usize,
}

/// The LSM key of a client's session.
pub fn session_key(client_id: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(INTERNAL_KEY_PREFIX.len() + SESSION_TAG.len() + 8);
    k.extend_from_slice(INTERNAL_KEY_PREFIX);
    k.extend_from_slice(SESSION_TAG);
    k.extend_from_slice(&client_id.to_be_bytes());
    k
}

fn decode_session(key: &[u8], value: &[u8]) -> Option<(u64, Session)> {
    let id = key
        .strip_prefix(INTERNAL_KEY_PREFIX)?
        .strip_prefix(SESSION_TAG)?;
    let id = u64::from_be_bytes(id.try_into().ok()?);
    let sequence = u64::from_le_bytes(value.get(0..8)?.try_into().ok()?);
    let index = u64::from_le_bytes(value.get(8..16)?.try_into().ok()?);
    let outcome = Outcome::decode(value.get(16..)?).ok()?;
    Some((
        id,
        Session {
            sequence,
            index,
            outcome,
        },
    ))
}

impl Sessions {
    /// Loads the table from `db`.
    pub fn load(db: &Db, capacity: usize) -> Result<Sessions> {
        let mut s = Sessions {
            map: HashMap::new(),
            by_age: BTreeSet::new(),
            capacity: capacity.max(1),
        };
        let lo = session_key(0);
        let mut hi = INTERNAL_KEY_PREFIX.to_vec();
        hi.extend_from_slice(SESSION_TAG);
        hi.extend_from_slice(&[0xff; 9]);
        for item in db.scan_bounds(Bound::Included(&lo), Bound::Excluded(&hi))? {
            let (k, v) = item?;
            let Some((id, session)) = decode_session(&k, &v) else {
                return Err(Error::BadCommand {
                    offset: 0,
                    reason: "undecodable exactly-once table entry in the state machine",
                });
            };
            s.by_age.insert((session.index, id));
            s.map.insert(id, session);
        }
        Ok(s)
    }

    /// Number of clients remembered.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when no client is remembered.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Every remembered session, by client id ascending (for snapshots).
    pub fn sorted(&self) -> Vec<(u64, &Session)> {
        let mut v: Vec<(u64, &Session)> = self.map.iter().map(|(id, s)| (*id, s)).collect();
        v.sort_unstable_by_key(|(id, _)| *id);
        v
    }

    /// The session of `client_id`, if remembered.
    pub fn get(&self, client_id: u64) -> Option<&Session> {
        self.map.get(&client_id)
    }

    /// Classifies a tagged command (untagged ones are always `New`).
    pub fn check(&self, tag: WriteTag) -> Check {
        if tag.client_id == 0 {
            return Check::New;
        }
        match self.map.get(&tag.client_id) {
            None => Check::New,
            Some(s) if tag.sequence > s.sequence => Check::New,
            Some(s) if tag.sequence == s.sequence => Check::Duplicate(s.outcome.clone()),
            Some(s) => Check::Stale { last: s.sequence },
        }
    }

    /// Records the outcome of a tagged command applied at `index`, adding the writes
    /// (and any eviction) to `batch`. Untagged commands are not recorded.
    pub fn record(&mut self, tag: WriteTag, index: u64, outcome: &Outcome, batch: &mut WriteBatch) {
        if tag.client_id == 0 {
            return;
        }
        let mut value = Vec::with_capacity(32);
        value.extend_from_slice(&tag.sequence.to_le_bytes());
        value.extend_from_slice(&index.to_le_bytes());
        outcome.encode(&mut value);
        batch.put(&session_key(tag.client_id), &value);
        let session = Session {
            sequence: tag.sequence,
            index,
            outcome: outcome.clone(),
        };
        if let Some(old) = self.map.insert(tag.client_id, session) {
            self.by_age.remove(&(old.index, tag.client_id));
        }
        self.by_age.insert((index, tag.client_id));
        while self.map.len() > self.capacity {
            let Some((_, victim)) = self.by_age.pop_first() else {
                break;
            };
            self.map.remove(&victim);
            batch.delete(&session_key(victim));
        }
    }
}
