//! Writing tables: the factory that creates, finishes and opens SSTables for flushes and
//! compactions, and the flush of one immutable memtable into a level-0 table.

use std::path::PathBuf;
use std::sync::Arc;

use super::manifest::TableMeta;
use super::memtable::Memtable;
use super::policy::TableId;
use super::sst::{BlockCache, SstBuilder, SstReader, TableOptions};
use super::version::{Table, table_file_name};
use crate::error::Result;
use crate::fs::SharedFs;

/// Creates and opens the tables of one database directory.
#[derive(Debug, Clone)]
pub struct TableFactory {
    /// The file system.
    pub fs: SharedFs,
    /// The database directory.
    pub dir: PathBuf,
    /// Table format options.
    pub opts: TableOptions,
    /// Shared block cache.
    pub cache: Option<Arc<BlockCache>>,
}

impl TableFactory {
    /// Path of table `id`.
    pub fn path(&self, id: TableId) -> PathBuf {
        self.dir.join(table_file_name(id))
    }

    /// Starts writing table `id`.
    pub fn builder(&self, id: TableId) -> Result<SstBuilder> {
        SstBuilder::new(self.fs.clone(), &self.path(id), self.opts)
    }

    /// Finishes (and syncs) a table and opens it. The directory entry is not yet durable:
    /// the caller syncs the directory before recording the table in the manifest.
    pub fn finish(&self, id: TableId, builder: SstBuilder) -> Result<Arc<Table>> {
        let info = builder.finish()?;
        let meta = TableMeta {
            id,
            size_bytes: info.size_bytes,
            entries: info.entries,
            tombstones: info.tombstones,
            smallest_key: info.smallest_key,
            largest_key: info.largest_key,
            smallest_seq: info.smallest_seq,
            largest_seq: info.largest_seq,
        };
        self.open(&meta)
    }

    /// Opens the table a manifest entry describes.
    pub fn open(&self, meta: &TableMeta) -> Result<Arc<Table>> {
        let path = self.path(meta.id);
        let reader = SstReader::open(self.fs.clone(), &path, meta.id, self.cache.clone())?;
        Ok(Arc::new(Table::new(
            meta.clone(),
            reader,
            self.fs.clone(),
            path,
        )))
    }
}

/// Writes every entry of `mem` into table `id`. `None` if the memtable is empty.
pub fn flush_memtable(
    factory: &TableFactory,
    mem: &Memtable,
    id: TableId,
) -> Result<Option<Arc<Table>>> {
    if mem.is_empty() {
        return Ok(None);
    }
    let mut builder = factory.builder(id)?;
    mem.for_each(|k, v| builder.add(k, v))?;
    let table = factory.finish(id, builder)?;
    factory.fs.sync_dir(&factory.dir)?;
    Ok(Some(table))
}
