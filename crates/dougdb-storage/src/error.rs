//! The one error type of `dougdb-storage`: every fallible call in the crate returns it.

use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the storage engine.
///
/// Operating errors (I/O, corruption found on disk, bad input) are values of this enum;
/// programmer errors (broken internal invariants) are assertions instead.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operating-system call failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory the call was about.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },

    /// Bytes on disk failed a checksum or could not be decoded, somewhere other than a
    /// recoverable torn tail. For the WAL `file` is the segment; for the LSM it is the
    /// SSTable or manifest. Never skipped, never turned into a wrong answer.
    #[error("corruption in {file} at offset {offset}: {reason}")]
    Corruption {
        /// The segment, table or manifest file that holds the bad bytes.
        file: PathBuf,
        /// Byte offset of the bad record or block within `file`.
        offset: u64,
        /// What check failed.
        reason: String,
    },

    /// The caller passed something the engine refuses (empty key, key or value over the
    /// limit, an option out of range). Nothing was written.
    #[error("invalid argument: {reason}")]
    InvalidArgument {
        /// What was wrong, phrased so the caller knows what to change.
        reason: String,
    },

    /// A position given to the WAL does not exist (before the first retained record or
    /// past the end of the log).
    #[error("position {position} is out of range: the log holds [{first}, {end})")]
    OutOfRange {
        /// The requested position, as the log's global byte position.
        position: u64,
        /// First retained position.
        first: u64,
        /// One past the last written position.
        end: u64,
    },

    /// A compaction task failed validation: the policy asked for something that could
    /// lose data, so the engine refused to run it.
    #[error("rejected compaction task: {reason}")]
    InvalidCompaction {
        /// Why the task was refused.
        reason: String,
    },

    /// A write waited the configured bound for background flush or compaction to make
    /// room and gave up. Nothing was written; retrying later is safe.
    #[error(
        "write stalled for {waited_ms} ms ({immutable_memtables} immutable memtables, \
         {level0_tables} level-0 tables): background flush/compaction is not keeping up"
    )]
    Stalled {
        /// How long the write waited.
        waited_ms: u64,
        /// Memtables waiting to be flushed when it gave up.
        immutable_memtables: usize,
        /// Level-0 tables when it gave up.
        level0_tables: usize,
    },

    /// The handle was closed, or a background job failed earlier and the engine stopped
    /// accepting writes to protect what is on disk.
    #[error("storage is closed: {reason}")]
    Closed {
        /// Why the handle no longer accepts work.
        reason: String,
    },
}

impl Error {
    /// Wraps an `io::Error` with the path it concerned.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Builds a `Corruption` error.
    pub fn corruption(file: impl Into<PathBuf>, offset: u64, reason: impl Into<String>) -> Self {
        Error::Corruption {
            file: file.into(),
            offset,
            reason: reason.into(),
        }
    }

    /// Builds an `InvalidArgument` error.
    pub fn invalid(reason: impl Into<String>) -> Self {
        Error::InvalidArgument {
            reason: reason.into(),
        }
    }

    /// True for errors that mean on-disk bytes are bad.
    pub fn is_corruption(&self) -> bool {
        matches!(self, Error::Corruption { .. })
    }
}
