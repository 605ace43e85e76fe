//! Membership-change requests, their validation (one voter at a time), and the byte
//! encoding of a ConfChange entry's payload.
//!
//! The payload carries the change *and* the whole configuration that results from it, so
//! a node replaying the log from any point (including a node added later that never saw
//! the bootstrap configuration) learns the membership from the entry alone.

use crate::error::{Error, Result};
use crate::types::{ConfState, NodeId};

/// What a membership change does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfChangeKind {
    /// Add a voter, or promote a learner to voter.
    AddVoter,
    /// Add a learner, or demote a voter to learner.
    AddLearner,
    /// Remove a voter or learner (possibly the leader itself).
    RemoveNode,
}

/// A membership change request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfChange {
    /// What to do.
    pub kind: ConfChangeKind,
    /// To whom.
    pub node: NodeId,
    /// Opaque to Raft (e.g. the new node's address), returned with the committed entry.
    pub context: Vec<u8>,
}

/// Decoded payload of a `EntryKind::ConfChange` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfChangeRecord {
    /// The requested change.
    pub change: ConfChange,
    /// Membership after the change (in force from the moment the entry is in a log).
    pub conf_state: ConfState,
}

impl ConfChange {
    /// The configuration after applying this change to `conf`, or why it is refused.
    /// At most one voter is added or removed, which is what makes single-server changes safe.
    pub fn apply_to(&self, conf: &ConfState) -> Result<ConfState> {
        let bad = |reason| {
            Err(Error::InvalidConfChange {
                node: self.node,
                reason,
            })
        };
        if self.node == NodeId(0) {
            return bad("node id 0 is reserved");
        }
        let mut next = conf.clone();
        match self.kind {
            ConfChangeKind::AddVoter => {
                if conf.voters.contains(&self.node) {
                    return bad("already a voter");
                }
                next.learners.remove(&self.node);
                next.voters.insert(self.node);
            }
            ConfChangeKind::AddLearner => {
                if conf.learners.contains(&self.node) {
                    return bad("already a learner");
                }
                next.voters.remove(&self.node);
                next.learners.insert(self.node);
            }
            ConfChangeKind::RemoveNode => {
                if !conf.contains(self.node) {
                    return bad("not a member");
                }
                next.voters.remove(&self.node);
                next.learners.remove(&self.node);
            }
        }
        if next.voters.is_empty() {
            return bad("would leave no voters");
        }
        Ok(next)
    }
}

const FORMAT_VERSION: u8 = 1;

impl ConfChangeRecord {
    /// Encodes as: version u8, kind u8, node u64, context (u32 len + bytes),
    /// voters (u32 count + u64 each), learners (same); integers little-endian.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + self.change.context.len());
        out.push(FORMAT_VERSION);
        out.push(match self.change.kind {
            ConfChangeKind::AddVoter => 0,
            ConfChangeKind::AddLearner => 1,
            ConfChangeKind::RemoveNode => 2,
        });
        out.extend_from_slice(&self.change.node.0.to_le_bytes());
        out.extend_from_slice(&(self.change.context.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.change.context);
        for set in [&self.conf_state.voters, &self.conf_state.learners] {
            out.extend_from_slice(&(set.len() as u32).to_le_bytes());
            for id in set {
                out.extend_from_slice(&id.0.to_le_bytes());
            }
        }
        out
    }

    /// Decodes what `encode` produced; any malformation is `BadConfChange`.
    pub fn decode(bytes: &[u8]) -> Result<ConfChangeRecord> {
        let mut r = Reader { bytes, pos: 0 };
        if r.u8()? != FORMAT_VERSION {
            return Err(Error::BadConfChange {
                reason: "unknown format version",
            });
        }
        let kind = match r.u8()? {
            0 => ConfChangeKind::AddVoter,
            1 => ConfChangeKind::AddLearner,
            2 => ConfChangeKind::RemoveNode,
            _ => {
                return Err(Error::BadConfChange {
                    reason: "unknown change kind",
                });
            }
        };
        let node = NodeId(r.u64()?);
        let len = r.u32()? as usize;
        let context = r.take(len)?.to_vec();
        let mut conf_state = ConfState::default();
        for set in [&mut conf_state.voters, &mut conf_state.learners] {
            let n = r.u32()?;
            for _ in 0..n {
                set.insert(NodeId(r.u64()?));
            }
        }
        if r.pos != bytes.len() {
            return Err(Error::BadConfChange {
                reason: "trailing bytes",
            });
        }
        Ok(ConfChangeRecord {
            change: ConfChange {
                kind,
                node,
                context,
            },
            conf_state,
        })
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.bytes.len());
        let Some(end) = end else {
            return Err(Error::BadConfChange {
                reason: "truncated",
            });
        };
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(b))
    }
    fn u64(&mut self) -> Result<u64> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cc(kind: ConfChangeKind, node: u64) -> ConfChange {
        ConfChange {
            kind,
            node: NodeId(node),
            context: b"addr".to_vec(),
        }
    }

    #[test]
    fn record_round_trips_and_garbage_is_an_error() {
        let mut conf = ConfState::with_voters([1, 2, 3]);
        conf.learners.insert(NodeId(4));
        let rec = ConfChangeRecord {
            change: cc(ConfChangeKind::AddLearner, 4),
            conf_state: conf,
        };
        let bytes = rec.encode();
        assert_eq!(ConfChangeRecord::decode(&bytes).unwrap(), rec);
        for cut in 0..bytes.len() {
            assert!(ConfChangeRecord::decode(&bytes[..cut]).is_err());
        }
        assert!(ConfChangeRecord::decode(&[9, 9, 9]).is_err());
    }

    #[test]
    fn changes_move_at_most_one_voter_and_refuse_nonsense() {
        let conf = ConfState::with_voters([1, 2, 3]);
        let added = cc(ConfChangeKind::AddLearner, 4).apply_to(&conf).unwrap();
        assert!(added.learners.contains(&NodeId(4)));
        let promoted = cc(ConfChangeKind::AddVoter, 4).apply_to(&added).unwrap();
        assert!(promoted.voters.contains(&NodeId(4)) && promoted.learners.is_empty());
        let removed = cc(ConfChangeKind::RemoveNode, 1).apply_to(&conf).unwrap();
        assert_eq!(removed, ConfState::with_voters([2, 3]));
        assert!(cc(ConfChangeKind::AddVoter, 2).apply_to(&conf).is_err());
        assert!(cc(ConfChangeKind::RemoveNode, 9).apply_to(&conf).is_err());
        let single = ConfState::with_voters([1]);
        assert!(cc(ConfChangeKind::RemoveNode, 1).apply_to(&single).is_err());
    }
}
