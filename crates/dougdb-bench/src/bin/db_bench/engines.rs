//! The engines db_bench drives, behind one small trait so every workload runs the same
//! code against each.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use dougdb_storage::lsm::{Db, Options, SyncMode};

use super::Settings;

/// What a benchmark needs of a key-value engine. Errors abort the run: a benchmark that
/// silently skips failed operations would report fiction.
pub trait Engine {
    fn name(&self) -> &'static str;
    fn dir(&self) -> &Path;
    fn put(&self, key: &[u8], value: &[u8]);
    /// True if the key was found.
    fn get(&self, key: &[u8]) -> bool;
    fn delete(&self, key: &[u8]);
    /// Seeks to `key` and reads up to `n` entries; returns how many were read.
    fn seek_next(&self, key: &[u8], n: usize) -> usize;
    /// The tree's shape and background counters, if the engine exposes them (printed
    /// before each benchmark, so a run shows how much compaction debt a phase starts with).
    fn shape(&self) -> Option<String> {
        None
    }
}

fn die(engine: &str, what: &str, e: impl std::fmt::Display) -> ! {
    eprintln!("db_bench: {engine} {what} failed: {e}");
    std::process::exit(1)
}

/// Opens a fresh engine in `dir`.
pub fn open_engine(dougdb: bool, dir: &Path, s: Settings) -> Result<Box<dyn Engine>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    if dougdb {
        let options = Options {
            sync: if s.sync_every_write {
                SyncMode::Every
            } else {
                SyncMode::None
            },
            memtable_size_bytes: s.write_buffer_bytes,
            block_cache_bytes: s.cache_bytes,
            ..Options::default()
        };
        let db = Db::open(dir, options).map_err(|e| e.to_string())?;
        Ok(Box::new(DougDb {
            db: Arc::new(db),
            dir: dir.to_path_buf(),
        }))
    } else {
        let db = fjall::Database::builder(dir)
            .cache_size(s.cache_bytes)
            .open()
            .map_err(|e| e.to_string())?;
        let ks = db
            .keyspace("bench", || {
                fjall::KeyspaceCreateOptions::default().max_memtable_size(s.write_buffer_bytes)
            })
            .map_err(|e| e.to_string())?;
        Ok(Box::new(Fjall {
            db,
            ks,
            dir: dir.to_path_buf(),
            sync: s.sync_every_write,
        }))
    }
}

struct DougDb {
    db: Arc<Db>,
    dir: PathBuf,
}

impl Engine for DougDb {
    fn name(&self) -> &'static str {
        "dougdb"
    }
    fn dir(&self) -> &Path {
        &self.dir
    }
    fn put(&self, key: &[u8], value: &[u8]) {
        if let Err(e) = self.db.put(key, value) {
            die("dougdb", "put", e)
        }
    }
    fn get(&self, key: &[u8]) -> bool {
        match self.db.get(key) {
            Ok(v) => v.is_some(),
            Err(e) => die("dougdb", "get", e),
        }
    }
    fn delete(&self, key: &[u8]) {
        if let Err(e) = self.db.delete(key) {
            die("dougdb", "delete", e)
        }
    }
    fn seek_next(&self, key: &[u8], n: usize) -> usize {
        use std::ops::Bound;
        let iter = match self.db.scan((Bound::Included(key), Bound::Unbounded)) {
            Ok(it) => it,
            Err(e) => die("dougdb", "seek", e),
        };
        let mut read = 0;
        for item in iter.take(n) {
            if let Err(e) = item {
                die("dougdb", "next", e)
            }
            read += 1;
        }
        read
    }
    fn shape(&self) -> Option<String> {
        let s = self.db.stats();
        let levels: Vec<String> = s
            .levels
            .iter()
            .map(|l| format!("{}/{}M", l.tables, l.bytes >> 20))
            .collect();
        Some(format!(
            "levels(tables/MiB) {} imm {} flushes {} compactions {} (trivial {}) written {} MiB stalls {}",
            levels.join(" "),
            s.immutable_memtables,
            s.flushes,
            s.compactions,
            s.trivial_moves,
            s.bytes_written >> 20,
            s.stalls
        ))
    }
}

struct Fjall {
    db: fjall::Database,
    ks: fjall::Keyspace,
    dir: PathBuf,
    sync: bool,
}

impl Fjall {
    /// Equivalent durability to RocksDB (sync=false) and DougDB (SyncMode::None): every
    /// write reaches the OS before it returns; with sync, it is fsynced.
    fn persist(&self) {
        let mode = if self.sync {
            fjall::PersistMode::SyncData
        } else {
            fjall::PersistMode::Buffer
        };
        if let Err(e) = self.db.persist(mode) {
            die("fjall", "persist", e)
        }
    }
}

impl Engine for Fjall {
    fn name(&self) -> &'static str {
        "fjall"
    }
    fn dir(&self) -> &Path {
        &self.dir
    }
    fn put(&self, key: &[u8], value: &[u8]) {
        if let Err(e) = self.ks.insert(key, value) {
            die("fjall", "put", e)
        }
        self.persist();
    }
    fn get(&self, key: &[u8]) -> bool {
        match self.ks.get(key) {
            Ok(v) => v.is_some(),
            Err(e) => die("fjall", "get", e),
        }
    }
    fn delete(&self, key: &[u8]) {
        if let Err(e) = self.ks.remove(key) {
            die("fjall", "delete", e)
        }
        self.persist();
    }
    fn seek_next(&self, key: &[u8], n: usize) -> usize {
        let mut read = 0;
        for guard in self.ks.range(key.to_vec()..).take(n) {
            if let Err(e) = guard.into_inner() {
                die("fjall", "next", e)
            }
            read += 1;
        }
        read
    }
}
