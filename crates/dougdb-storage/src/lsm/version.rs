//! A `Version`: the immutable set of live tables per level, as the manifest describes
//! it. Readers hold an `Arc<Version>`; a table file is deleted only once it left every
//! version (its last handle drops) after the edit removing it was made durable.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::key::{self, SeqNo, ValueKind};
use super::manifest::{LEVELS_MAX, TableMeta, VersionEdit};
use super::policy::{LevelSummary, LevelsSummary, TableId, TableSummary};
use super::sst::SstReader;
use crate::error::{Error, Result};
use crate::fs::SharedFs;

/// File name of table `id`.
pub fn table_file_name(id: TableId) -> String {
    format!("{:06}.sst", id.0)
}

/// Parses a table file name.
pub fn parse_table_file_name(name: &str) -> Option<TableId> {
    Some(TableId(name.strip_suffix(".sst")?.parse().ok()?))
}

/// One live table: its manifest entry and an open reader.
#[derive(Debug)]
pub struct Table {
    /// What the manifest records.
    pub meta: TableMeta,
    /// The open reader.
    pub reader: Arc<SstReader>,
    /// Smallest user key.
    pub lo: Vec<u8>,
    /// Largest user key.
    pub hi: Vec<u8>,
    obsolete: AtomicBool,
    fs: SharedFs,
    path: PathBuf,
}

impl Table {
    /// Wraps an open reader.
    pub fn new(meta: TableMeta, reader: Arc<SstReader>, fs: SharedFs, path: PathBuf) -> Self {
        let user = |k: &[u8]| {
            key::decode(k)
                .map(|p| p.user_key.to_vec())
                .unwrap_or_default()
        };
        Table {
            lo: user(&meta.smallest_key),
            hi: user(&meta.largest_key),
            meta,
            reader,
            obsolete: AtomicBool::new(false),
            fs,
            path,
        }
    }

    /// Marks the file for deletion when the last handle drops. Only call once the edit
    /// removing the table is durable.
    pub fn mark_obsolete(&self) {
        self.obsolete.store(true, Ordering::Release);
    }

    /// True if `user_key` is within the table's key range.
    pub fn covers(&self, user_key: &[u8]) -> bool {
        self.lo.as_slice() <= user_key && user_key <= self.hi.as_slice()
    }

    /// The table's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn summary(&self) -> TableSummary {
        TableSummary {
            id: self.meta.id,
            size_bytes: self.meta.size_bytes,
            entries: self.meta.entries,
            tombstones: self.meta.tombstones,
            smallest_key: self.lo.clone(),
            largest_key: self.hi.clone(),
            smallest_seq: self.meta.smallest_seq,
            largest_seq: self.meta.largest_seq,
        }
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        if self.obsolete.load(Ordering::Acquire)
            && let Err(e) = self.fs.remove_file(&self.path)
        {
            tracing::warn!(path = %self.path.display(), error = %e, "could not delete an obsolete table");
        }
    }
}

/// The tables of every level. Level 0 is newest first (tables may overlap); every other
/// level is sorted by key with disjoint user-key ranges.
#[derive(Debug, Clone)]
pub struct Version {
    /// `LEVELS_MAX` levels.
    pub levels: Vec<Vec<Arc<Table>>>,
}

impl Default for Version {
    fn default() -> Self {
        Version {
            levels: vec![Vec::new(); LEVELS_MAX as usize],
        }
    }
}

fn sort_level(level: usize, tables: &mut [Arc<Table>]) {
    if level == 0 {
        // Flushes and level-0 merges keep disjoint sequence ranges, so newest first is
        // largest sequence first.
        tables.sort_by_key(|t| std::cmp::Reverse((t.meta.largest_seq, t.meta.id)));
    } else {
        tables.sort_by(|a, b| key::compare(&a.meta.smallest_key, &b.meta.smallest_key));
    }
}

impl Version {
    /// The version after `edit`; `open` supplies each added table.
    pub fn apply(
        &self,
        edit: &VersionEdit,
        open: &mut dyn FnMut(&TableMeta) -> Result<Arc<Table>>,
    ) -> Result<Version> {
        let mut next = self.clone();
        for (level, id) in &edit.removes {
            let tables = next
                .levels
                .get_mut(*level as usize)
                .ok_or_else(|| Error::invalid(format!("level {level} out of range")))?;
            let before = tables.len();
            tables.retain(|t| t.meta.id != *id);
            if tables.len() == before {
                return Err(Error::corruption(
                    "manifest",
                    0,
                    format!("edit removes table {} absent from level {level}", id.0),
                ));
            }
        }
        let mut touched = [false; LEVELS_MAX as usize];
        for (level, meta) in &edit.adds {
            let l = *level as usize;
            if l >= next.levels.len() {
                return Err(Error::invalid(format!("level {level} out of range")));
            }
            next.levels[l].push(open(meta)?);
            touched[l] = true;
        }
        for (l, t) in touched.iter().enumerate() {
            if *t {
                sort_level(l, &mut next.levels[l]);
            }
        }
        Ok(next)
    }

    /// The newest version of `user_key` visible at `snapshot` in any table.
    pub fn get(
        &self,
        user_key: &[u8],
        snapshot: SeqNo,
    ) -> Result<Option<(SeqNo, ValueKind, Vec<u8>)>> {
        for t in &self.levels[0] {
            if t.covers(user_key)
                && t.meta.smallest_seq <= snapshot.0
                && let Some(hit) = t.reader.get(user_key, snapshot)?
            {
                return Ok(Some(hit));
            }
        }
        for level in &self.levels[1..] {
            let i = level.partition_point(|t| t.hi.as_slice() < user_key);
            if let Some(t) = level.get(i)
                && t.lo.as_slice() <= user_key
                && let Some(hit) = t.reader.get(user_key, snapshot)?
            {
                return Ok(Some(hit));
            }
        }
        Ok(None)
    }

    /// What a compaction policy sees.
    pub fn summary(&self, table_size_target_bytes: u64) -> LevelsSummary {
        LevelsSummary {
            levels: self
                .levels
                .iter()
                .map(|l| LevelSummary {
                    tables: l.iter().map(|t| t.summary()).collect(),
                })
                .collect(),
            table_size_target_bytes,
        }
    }

    /// An edit that rebuilds this version from nothing (for a new manifest).
    pub fn snapshot_edit(&self) -> VersionEdit {
        let mut edit = VersionEdit::default();
        for (level, tables) in self.levels.iter().enumerate() {
            for t in tables {
                edit.adds.push((level as u32, t.meta.clone()));
            }
        }
        edit
    }

    /// The table with `id` and its level.
    pub fn find(&self, id: TableId) -> Option<(u32, &Arc<Table>)> {
        self.levels.iter().enumerate().find_map(|(l, tables)| {
            tables
                .iter()
                .find(|t| t.meta.id == id)
                .map(|t| (l as u32, t))
        })
    }

    /// Every live table id.
    pub fn table_ids(&self) -> impl Iterator<Item = TableId> + '_ {
        self.levels.iter().flatten().map(|t| t.meta.id)
    }
}
