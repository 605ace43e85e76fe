//! The small file-system surface the engine uses, so tests can swap the real disk for a
//! fault-injecting one ([`FaultFs`]) that loses unsynced data at a simulated crash.
//!
//! Durability contract (what the engine may assume, and what [`FaultFs`] enforces):
//! - bytes appended to a file are durable only after [`WritableFile::sync`] returns;
//! - a file's *name* (creation, rename, removal) is durable only after
//!   [`FileSystem::sync_dir`] on its parent directory returns;
//! - directories made by [`FileSystem::create_dir_all`] are durable at once.

mod fault;
mod real;

use std::fmt::Debug;
use std::path::Path;
use std::sync::Arc;

pub use fault::{CrashConfig, FaultFs};
pub use real::RealFs;

use crate::error::Result;

/// A file open for appending. Methods take `&self` so that one thread may `sync` while
/// another appends (group commit); callers serialise appends among themselves.
pub trait WritableFile: Send + Sync + Debug {
    /// Appends `buf` at the end of the file.
    fn append(&self, buf: &[u8]) -> Result<()>;
    /// Makes every byte appended so far durable (fdatasync).
    fn sync(&self) -> Result<()>;
    /// Cuts the file to `len` bytes; later appends continue from there. Not durable until
    /// the next `sync`.
    fn truncate(&self, len: u64) -> Result<()>;
    /// Current length in bytes, synced or not.
    fn len(&self) -> u64;
    /// True when the file holds no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A file open for positioned reads.
pub trait ReadableFile: Send + Sync + Debug {
    /// Fills `buf` from `offset`; an error if the file is shorter than `offset + buf.len()`.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<()>;
    /// Current length in bytes.
    fn len(&self) -> Result<u64>;
    /// True when the file holds no bytes.
    fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }
}

/// The operations the WAL and LSM perform on files and directories.
pub trait FileSystem: Send + Sync + Debug + 'static {
    /// Creates `dir` and its parents (durable at once).
    fn create_dir_all(&self, dir: &Path) -> Result<()>;
    /// Creates `path` empty (truncating an existing file) and opens it for appending.
    fn create(&self, path: &Path) -> Result<Arc<dyn WritableFile>>;
    /// Opens an existing file for appending at its end.
    fn open_append(&self, path: &Path) -> Result<Arc<dyn WritableFile>>;
    /// Opens an existing file for reading.
    fn open_read(&self, path: &Path) -> Result<Arc<dyn ReadableFile>>;
    /// Names (not paths) of the regular files directly inside `dir`, sorted.
    fn list_dir(&self, dir: &Path) -> Result<Vec<String>>;
    /// Removes a file (the removal is durable after `sync_dir` of its parent).
    fn remove_file(&self, path: &Path) -> Result<()>;
    /// Renames a file atomically, replacing `to` if it exists.
    fn rename(&self, from: &Path, to: &Path) -> Result<()>;
    /// True if `path` names an existing file or directory.
    fn exists(&self, path: &Path) -> bool;
    /// Makes the directory's entries (creations, renames, removals) durable.
    fn sync_dir(&self, dir: &Path) -> Result<()>;

    /// Reads a whole file into memory.
    fn read_all(&self, path: &Path) -> Result<Vec<u8>> {
        let file = self.open_read(path)?;
        let len = file.len()?;
        let len = usize::try_from(len).map_err(|_| {
            crate::error::Error::invalid(format!("{} is too large to read whole", path.display()))
        })?;
        let mut buf = vec![0u8; len];
        file.read_exact_at(&mut buf, 0)?;
        Ok(buf)
    }
}

/// A shared handle to a file system, as stored by the WAL and the LSM.
pub type SharedFs = Arc<dyn FileSystem>;

/// The real file system, shared.
pub fn real() -> SharedFs {
    Arc::new(RealFs)
}
