//! [`FileSystem`] over the operating system's files (`std::fs`, positioned reads).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{FileSystem, ReadableFile, WritableFile};
use crate::error::{Error, Result};

/// The real disk.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealFs;

#[derive(Debug)]
struct RealWritable {
    path: PathBuf,
    file: File,
    /// Tracked here so `len()` needs no syscall; appends are serialised by the caller.
    len: AtomicU64,
}

impl WritableFile for RealWritable {
    fn append(&self, buf: &[u8]) -> Result<()> {
        (&self.file)
            .write_all(buf)
            .map_err(|e| Error::io(&self.path, e))?;
        self.len.fetch_add(buf.len() as u64, Ordering::AcqRel);
        Ok(())
    }

    fn sync(&self) -> Result<()> {
        self.file.sync_data().map_err(|e| Error::io(&self.path, e))
    }

    fn truncate(&self, len: u64) -> Result<()> {
        // The file is opened with O_APPEND, so later writes land at the new end.
        self.file
            .set_len(len)
            .map_err(|e| Error::io(&self.path, e))?;
        self.len.store(len, Ordering::Release);
        Ok(())
    }

    fn len(&self) -> u64 {
        self.len.load(Ordering::Acquire)
    }
}

#[derive(Debug)]
struct RealReadable {
    path: PathBuf,
    file: File,
}

impl ReadableFile for RealReadable {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        self.file
            .read_exact_at(buf, offset)
            .map_err(|e| Error::io(&self.path, e))
    }

    fn len(&self) -> Result<u64> {
        Ok(self
            .file
            .metadata()
            .map_err(|e| Error::io(&self.path, e))?
            .len())
    }
}

impl RealFs {
    fn open_writable(path: &Path, truncate: bool) -> Result<Arc<dyn WritableFile>> {
        let file = OpenOptions::new()
            .create(truncate)
            .truncate(false)
            .append(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        if truncate {
            file.set_len(0).map_err(|e| Error::io(path, e))?;
        }
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        Ok(Arc::new(RealWritable {
            path: path.to_path_buf(),
            file,
            len: AtomicU64::new(len),
        }))
    }
}

impl FileSystem for RealFs {
    fn create_dir_all(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))
    }

    fn create(&self, path: &Path) -> Result<Arc<dyn WritableFile>> {
        Self::open_writable(path, true)
    }

    fn open_append(&self, path: &Path) -> Result<Arc<dyn WritableFile>> {
        Self::open_writable(path, false)
    }

    fn open_read(&self, path: &Path) -> Result<Arc<dyn ReadableFile>> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        Ok(Arc::new(RealReadable {
            path: path.to_path_buf(),
            file,
        }))
    }

    fn list_dir(&self, dir: &Path) -> Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
            let entry = entry.map_err(|e| Error::io(dir, e))?;
            let kind = entry.file_type().map_err(|e| Error::io(entry.path(), e))?;
            if kind.is_file()
                && let Some(name) = entry.file_name().to_str()
            {
                names.push(name.to_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    fn remove_file(&self, path: &Path) -> Result<()> {
        std::fs::remove_file(path).map_err(|e| Error::io(path, e))
    }

    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        std::fs::rename(from, to).map_err(|e| Error::io(from, e))
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    fn sync_dir(&self, dir: &Path) -> Result<()> {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(dir, e))
    }
}
