//! Running a validated compaction: merge the inputs newest first, drop versions no
//! reader can see, drop tombstones only where nothing older can resurface, and cut the
//! output into tables at user-key boundaries.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::ValidTask;
use crate::error::{Error, Result};
use crate::lsm::flush::TableFactory;
use crate::lsm::iter::InternalIterator;
use crate::lsm::key::{self, SeqNo, ValueKind};
use crate::lsm::manifest::VersionEdit;
use crate::lsm::merge::MergingIterator;
use crate::lsm::policy::TableId;
use crate::lsm::sst::SstBuilder;
use crate::lsm::version::{Table, Version};

/// What a finished job hands to the manifest.
#[derive(Debug)]
pub struct JobOutput {
    /// Removes the inputs, adds the outputs.
    pub edit: VersionEdit,
    /// The new tables (for a trivial move, the moved one).
    pub outputs: Vec<Arc<Table>>,
    /// Input tables that leave the tree.
    pub obsolete: Vec<Arc<Table>>,
    /// Bytes written.
    pub bytes_written: u64,
}

/// Decides which entries a compaction keeps.
struct Dropper<'a> {
    horizon: SeqNo,
    older: &'a [(Vec<u8>, Vec<u8>)],
    current_key: Vec<u8>,
    has_key: bool,
    last_seq_for_key: u64,
    last_internal_key: Vec<u8>,
}

impl Dropper<'_> {
    fn older_may_hold(&self, user_key: &[u8]) -> bool {
        self.older
            .iter()
            .any(|(lo, hi)| lo.as_slice() <= user_key && user_key <= hi.as_slice())
    }

    /// True if the entry is invisible to every reader, present or future.
    fn drop(&mut self, internal_key: &[u8], user_key: &[u8], seq: SeqNo, kind: ValueKind) -> bool {
        if internal_key == self.last_internal_key.as_slice() {
            return true; // the same write twice (replayed and reflushed)
        }
        self.last_internal_key.clear();
        self.last_internal_key.extend_from_slice(internal_key);
        if !self.has_key || self.current_key.as_slice() != user_key {
            self.current_key.clear();
            self.current_key.extend_from_slice(user_key);
            self.has_key = true;
            self.last_seq_for_key = u64::MAX;
        }
        // Shadowed by a newer version that every reader sees.
        let shadowed = self.last_seq_for_key <= self.horizon.0;
        self.last_seq_for_key = seq.0;
        // A tombstone every reader sees, over nothing older outside this compaction.
        let dead_tombstone =
            kind == ValueKind::Delete && seq <= self.horizon && !self.older_may_hold(user_key);
        shadowed || dead_tombstone
    }
}

/// Runs `task` over `version`'s tables. Every reader at or after `horizon` keeps seeing
/// exactly what it saw.
pub fn run(
    task: &ValidTask,
    version: &Version,
    factory: &TableFactory,
    horizon: SeqNo,
    next_file: &AtomicU64,
    table_size_target_bytes: u64,
) -> Result<JobOutput> {
    let mut inputs = Vec::with_capacity(task.inputs.len());
    let mut edit = VersionEdit::default();
    for (level, id) in &task.inputs {
        let (found_level, table) = version.find(*id).ok_or_else(|| Error::InvalidCompaction {
            reason: format!("table {} vanished before its compaction", id.0),
        })?;
        if found_level != *level {
            return Err(Error::InvalidCompaction {
                reason: format!("table {} moved before its compaction", id.0),
            });
        }
        edit.removes.push((*level, *id));
        inputs.push(Arc::clone(table));
    }
    if task.trivial_move
        && let [only] = inputs.as_slice()
    {
        edit.adds.push((task.output_level, only.meta.clone()));
        return Ok(JobOutput {
            edit,
            outputs: vec![Arc::clone(only)],
            obsolete: Vec::new(),
            bytes_written: 0,
        });
    }
    let children: Vec<Box<dyn InternalIterator>> = inputs
        .iter()
        .map(|t| Box::new(t.reader.iter_without_caching()) as Box<dyn InternalIterator>)
        .collect();
    let mut merged = MergingIterator::new(children);
    merged.seek_to_first()?;
    let mut dropper = Dropper {
        horizon,
        older: &task.older_ranges,
        current_key: Vec::new(),
        has_key: false,
        last_seq_for_key: u64::MAX,
        last_internal_key: Vec::new(),
    };
    let split = task.output_level > 0;
    let mut outputs = Vec::new();
    let mut open: Option<(TableId, SstBuilder)> = None;
    let mut last_user = Vec::new();
    while merged.valid() {
        let ikey = merged.key();
        let parsed = key::decode(ikey)
            .ok_or_else(|| Error::corruption("compaction input", 0, "malformed internal key"))?;
        if dropper.drop(ikey, parsed.user_key, parsed.seq, parsed.kind) {
            merged.next()?;
            continue;
        }
        let new_user_key = last_user.as_slice() != parsed.user_key;
        if split
            && new_user_key
            && let Some((_, b)) = &open
            && b.estimated_size_bytes() >= table_size_target_bytes
            && let Some((id, b)) = open.take()
        {
            outputs.push(factory.finish(id, b)?);
        }
        if open.is_none() {
            let id = TableId(next_file.fetch_add(1, Ordering::Relaxed));
            open = Some((id, factory.builder(id)?));
        }
        if let Some((_, b)) = open.as_mut() {
            b.add(ikey, merged.value())?;
        }
        if new_user_key {
            last_user.clear();
            last_user.extend_from_slice(parsed.user_key);
        }
        merged.next()?;
    }
    if let Some((id, b)) = open.take() {
        outputs.push(factory.finish(id, b)?);
    }
    if !outputs.is_empty() {
        factory.fs.sync_dir(&factory.dir)?;
    }
    let mut bytes_written = 0;
    for t in &outputs {
        bytes_written += t.meta.size_bytes;
        edit.adds.push((task.output_level, t.meta.clone()));
    }
    Ok(JobOutput {
        edit,
        outputs,
        obsolete: inputs,
        bytes_written,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dropper(horizon: u64, older: &[(Vec<u8>, Vec<u8>)]) -> Dropper<'_> {
        Dropper {
            horizon: SeqNo(horizon),
            older,
            current_key: Vec::new(),
            has_key: false,
            last_seq_for_key: u64::MAX,
            last_internal_key: Vec::new(),
        }
    }

    fn d(dr: &mut Dropper<'_>, user: &[u8], seq: u64, kind: ValueKind) -> bool {
        let ik = key::encode(user, SeqNo(seq), kind);
        dr.drop(&ik, user, SeqNo(seq), kind)
    }

    #[test]
    fn tombstone_dropped_only_when_nothing_older_and_no_snapshot_needs_it() {
        let none = [];
        let mut dr = dropper(100, &none);
        assert!(
            d(&mut dr, b"a", 10, ValueKind::Delete),
            "bottom-most, visible to all"
        );
        assert!(
            d(&mut dr, b"a", 5, ValueKind::Put),
            "shadowed by the tombstone"
        );

        let older = [(b"a".to_vec(), b"c".to_vec())];
        let mut dr = dropper(100, &older);
        assert!(
            !d(&mut dr, b"b", 10, ValueKind::Delete),
            "older data may hold b"
        );
        assert!(d(&mut dr, b"b", 5, ValueKind::Put));

        let mut dr = dropper(7, &none);
        assert!(
            !d(&mut dr, b"a", 10, ValueKind::Delete),
            "a snapshot at 7 predates it"
        );
        assert!(
            !d(&mut dr, b"a", 5, ValueKind::Put),
            "the snapshot at 7 reads this"
        );
        assert!(
            d(&mut dr, b"a", 3, ValueKind::Put),
            "shadowed for every reader"
        );
    }

    #[test]
    fn duplicate_internal_keys_are_dropped() {
        let none = [];
        let mut dr = dropper(0, &none);
        assert!(!d(&mut dr, b"a", 10, ValueKind::Put));
        assert!(d(&mut dr, b"a", 10, ValueKind::Put));
    }
}
