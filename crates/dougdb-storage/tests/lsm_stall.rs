//! Bounded write stalls: when background work cannot keep up, writes wait at most
//! `write_stall_timeout` and then fail; they never block forever. A background failure
//! makes the database refuse writes with `Closed`. No test sleeps to synchronise.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod lsm_common;

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use dougdb_storage::Error;
use dougdb_storage::fs::{FaultFs, FileSystem, ReadableFile, SharedFs, WritableFile};
use dougdb_storage::lsm::{Db, LeveledPolicy, Options};
use lsm_common::{dir, key, small_options, value};

/// A file system whose table creations block while the gate is closed.
#[derive(Debug, Clone)]
struct GatedFs {
    inner: FaultFs,
    gate: Arc<(Mutex<bool>, Condvar)>,
}

impl GatedFs {
    fn set_open(&self, open: bool) {
        *self.gate.0.lock().unwrap() = open;
        self.gate.1.notify_all();
    }
}

impl FileSystem for GatedFs {
    fn create_dir_all(&self, d: &Path) -> dougdb_storage::Result<()> {
        self.inner.create_dir_all(d)
    }
    fn create(&self, path: &Path) -> dougdb_storage::Result<Arc<dyn WritableFile>> {
        if path.extension().is_some_and(|e| e == "sst") {
            let mut open = self.gate.0.lock().unwrap();
            while !*open {
                open = self.gate.1.wait(open).unwrap();
            }
        }
        self.inner.create(path)
    }
    fn open_append(&self, path: &Path) -> dougdb_storage::Result<Arc<dyn WritableFile>> {
        self.inner.open_append(path)
    }
    fn open_read(&self, path: &Path) -> dougdb_storage::Result<Arc<dyn ReadableFile>> {
        self.inner.open_read(path)
    }
    fn list_dir(&self, d: &Path) -> dougdb_storage::Result<Vec<String>> {
        self.inner.list_dir(d)
    }
    fn remove_file(&self, path: &Path) -> dougdb_storage::Result<()> {
        self.inner.remove_file(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> dougdb_storage::Result<()> {
        self.inner.rename(from, to)
    }
    fn exists(&self, path: &Path) -> bool {
        self.inner.exists(path)
    }
    fn sync_dir(&self, d: &Path) -> dougdb_storage::Result<()> {
        self.inner.sync_dir(d)
    }
}

const TIMEOUT: Duration = Duration::from_millis(300);

#[test]
fn writes_fail_within_the_timeout_when_flushes_are_blocked() {
    let fault = FaultFs::new();
    let fs = GatedFs {
        inner: fault.clone(),
        gate: Arc::new((Mutex::new(true), Condvar::new())),
    };
    let db = Db::open(
        dir(),
        Options {
            fs: Arc::new(fs.clone()) as SharedFs,
            memtable_size_bytes: 4 << 10,
            max_immutable_memtables: 1,
            write_stall_timeout: TIMEOUT,
            ..small_options(&fault)
        },
    )
    .unwrap();
    fs.set_open(false);
    let mut failed_after = None;
    for i in 0..10_000 {
        let started = Instant::now();
        match db.put(&key(i), &value(i, 0)) {
            Ok(()) => {}
            Err(e) => {
                let waited = started.elapsed();
                assert!(matches!(&e, Error::Stalled { .. }), "{e}");
                assert!(waited >= TIMEOUT, "gave up early: {waited:?}");
                assert!(
                    waited < TIMEOUT + Duration::from_secs(10),
                    "stall not bounded: {waited:?}"
                );
                failed_after = Some(i);
                break;
            }
        }
    }
    let failed_after = failed_after.expect("writes must stall and fail while flushes are blocked");
    assert!(db.stats().stall_timeouts >= 1);
    assert_eq!(
        db.get(&key(failed_after)).unwrap(),
        None,
        "the failed write wrote nothing"
    );
    fs.set_open(true);
    // Unblocked: the next write waits for the flush (well within the timeout) and lands.
    db.put(&key(failed_after), b"after").unwrap();
    assert_eq!(db.get(&key(failed_after)).unwrap(), Some(b"after".to_vec()));
    assert_eq!(db.get(&key(0)).unwrap(), Some(value(0, 0)));
    db.close().unwrap();
}

#[test]
fn too_many_level0_tables_stall_writes_until_compaction_catches_up() {
    let fs = FaultFs::new();
    let db = Db::open(
        dir(),
        Options {
            background_compaction: false,
            level0_stop_writes: 2,
            compaction_policy: Arc::new(LeveledPolicy {
                l0_trigger: 2,
                ..LeveledPolicy::default()
            }),
            write_stall_timeout: TIMEOUT,
            ..small_options(&fs)
        },
    )
    .unwrap();
    for round in 0..2 {
        db.put(&key(round), b"v").unwrap();
        db.flush().unwrap();
    }
    let started = Instant::now();
    let err = db.put(&key(9), b"v").unwrap_err();
    assert!(started.elapsed() < TIMEOUT + Duration::from_secs(10));
    assert!(matches!(err, Error::Stalled { .. }), "{err}");
    db.wait_for_compactions().unwrap();
    assert_eq!(db.stats().levels[0].tables, 0);
    db.put(&key(9), b"v").unwrap();
    assert!(db.stats().stalls >= 1);
}

#[test]
fn background_failure_closes_the_database_for_writes() {
    let fs = FaultFs::new();
    let db = Db::open(dir(), small_options(&fs)).unwrap();
    db.put(b"a", b"1").unwrap();
    fs.crash(); // every disk operation fails from now on
    let err = db.flush().unwrap_err();
    assert!(matches!(err, Error::Closed { .. }), "{err}");
    let err = db.put(b"b", b"2").unwrap_err();
    match err {
        Error::Closed { reason } => assert!(reason.contains("flush failed"), "{reason}"),
        other => panic!("expected Closed, got {other}"),
    }
    assert_eq!(
        db.get(b"a").unwrap(),
        Some(b"1".to_vec()),
        "reads still work from memory"
    );
}
