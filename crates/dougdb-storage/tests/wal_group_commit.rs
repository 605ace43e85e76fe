//! Group commit: concurrent durable appenders share fsyncs, and appends are never blocked
//! behind an fsync in flight.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns panic on failure too

mod wal_util;

use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use dougdb_storage::Result;
use dougdb_storage::fs::{self, FaultFs, FileSystem, ReadableFile, WritableFile};
use dougdb_storage::wal::{Position, Wal, WalOptions};
use parking_lot::Mutex;
use wal_util::*;

/// Deadline for "this must happen", so a regression fails instead of hanging the suite.
const DEADLINE: Duration = Duration::from_secs(30);

#[test]
fn sixteen_threads_share_fsyncs() {
    const THREADS: u64 = 16;
    const PER_THREAD: u64 = 150;
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let (wal, _) = Wal::open(fs::real(), dir.path(), WalOptions::default()).unwrap();
    let wal = Arc::new(wal);
    let syncs_before = wal.stats().syncs;
    let start = Arc::new(Barrier::new(THREADS as usize));
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (wal, start) = (Arc::clone(&wal), Arc::clone(&start));
            std::thread::spawn(move || {
                start.wait();
                let mut mine = Vec::new();
                for i in 0..PER_THREAD {
                    let payload = format!("thread {t} record {i}").into_bytes();
                    let position = wal.append_durable(&payload).unwrap();
                    assert!(wal.durable_position() > position, "returned before durable");
                    mine.push((position, payload));
                }
                mine
            })
        })
        .collect();
    let mut written: Vec<(Position, Vec<u8>)> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    written.sort();
    let stats = wal.stats();
    let syncs = stats.syncs - syncs_before;
    println!(
        "group commit: {} appends, {syncs} fsyncs, {:.1} appends per fsync",
        stats.appends,
        stats.appends as f64 / syncs as f64
    );
    assert_eq!(stats.appends, THREADS * PER_THREAD);
    assert!(
        syncs <= stats.appends / 2,
        "{syncs} fsyncs for {} appends",
        stats.appends
    );
    assert_eq!(read_all(&wal), written);
    drop(wal);
    let (wal, recovery) = Wal::open(fs::real(), dir.path(), WalOptions::default()).unwrap();
    assert_eq!(recovery.records, THREADS * PER_THREAD);
    assert_eq!(read_all(&wal), written);
}

#[test]
fn a_batch_then_one_wait_costs_one_fsync() {
    let fs = FaultFs::new();
    let (wal, _) = Wal::open(
        Arc::new(fs.clone()),
        Path::new("/wal"),
        WalOptions::default(),
    )
    .unwrap();
    let payloads: Vec<Vec<u8>> = (0..1000u32).map(|i| i.to_le_bytes().to_vec()).collect();
    let refs: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();
    let before = fs.sync_points();
    let positions = wal.append_batch(&refs).unwrap();
    wal.wait_durable(*positions.last().unwrap()).unwrap();
    assert_eq!(fs.sync_points() - before, 1);
    assert_eq!(wal.durable_position(), wal.end_position());
}

/// A file system whose file syncs, once armed, announce themselves and wait for a go.
#[derive(Debug)]
struct GatedFs {
    inner: FaultFs,
    gate: Arc<Gate>,
}

#[derive(Debug)]
struct Gate {
    armed: Mutex<bool>,
    entered: Mutex<Option<SyncSender<()>>>,
    release: Mutex<Option<Receiver<()>>>,
}

#[derive(Debug)]
struct GatedFile {
    inner: Arc<dyn WritableFile>,
    gate: Arc<Gate>,
}

impl WritableFile for GatedFile {
    fn append(&self, buf: &[u8]) -> Result<()> {
        self.inner.append(buf)
    }
    fn sync(&self) -> Result<()> {
        if std::mem::take(&mut *self.gate.armed.lock()) {
            let entered = self.gate.entered.lock().take().unwrap();
            let release = self.gate.release.lock().take().unwrap();
            entered.send(()).unwrap();
            release.recv_timeout(DEADLINE).unwrap();
        }
        self.inner.sync()
    }
    fn truncate(&self, len: u64) -> Result<()> {
        self.inner.truncate(len)
    }
    fn len(&self) -> u64 {
        self.inner.len()
    }
}

impl GatedFs {
    fn wrap(&self, file: Arc<dyn WritableFile>) -> Arc<dyn WritableFile> {
        Arc::new(GatedFile {
            inner: file,
            gate: Arc::clone(&self.gate),
        })
    }
}

impl FileSystem for GatedFs {
    fn create_dir_all(&self, dir: &Path) -> Result<()> {
        self.inner.create_dir_all(dir)
    }
    fn create(&self, path: &Path) -> Result<Arc<dyn WritableFile>> {
        Ok(self.wrap(self.inner.create(path)?))
    }
    fn open_append(&self, path: &Path) -> Result<Arc<dyn WritableFile>> {
        Ok(self.wrap(self.inner.open_append(path)?))
    }
    fn open_read(&self, path: &Path) -> Result<Arc<dyn ReadableFile>> {
        self.inner.open_read(path)
    }
    fn list_dir(&self, dir: &Path) -> Result<Vec<String>> {
        self.inner.list_dir(dir)
    }
    fn remove_file(&self, path: &Path) -> Result<()> {
        self.inner.remove_file(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        self.inner.rename(from, to)
    }
    fn exists(&self, path: &Path) -> bool {
        self.inner.exists(path)
    }
    fn sync_dir(&self, dir: &Path) -> Result<()> {
        self.inner.sync_dir(dir)
    }
}

#[test]
fn appends_and_reads_proceed_while_an_fsync_is_in_flight() {
    let (entered_tx, entered_rx) = sync_channel(1);
    let (release_tx, release_rx) = sync_channel(1);
    let gate = Arc::new(Gate {
        armed: Mutex::new(false),
        entered: Mutex::new(Some(entered_tx)),
        release: Mutex::new(Some(release_rx)),
    });
    let fs = GatedFs {
        inner: FaultFs::new(),
        gate: Arc::clone(&gate),
    };
    let (wal, _) = Wal::open(Arc::new(fs), Path::new("/wal"), WalOptions::default()).unwrap();
    let wal = Arc::new(wal);
    *gate.armed.lock() = true;
    let leader = {
        let wal = Arc::clone(&wal);
        std::thread::spawn(move || wal.append_durable(b"first").unwrap())
    };
    entered_rx.recv_timeout(DEADLINE).unwrap();
    // The leader is parked inside fsync. Appending, reading and asking for positions
    // must not wait for it; run them on another thread so a regression fails the
    // deadline instead of hanging.
    let (done_tx, done_rx) = sync_channel(1);
    let worker = {
        let wal = Arc::clone(&wal);
        std::thread::spawn(move || {
            let second = wal.append(b"second").unwrap();
            let (first, _) = wal.read(Position(0)).unwrap();
            let (again, _) = wal.read(second).unwrap();
            done_tx.send((first, again, wal.end_position())).unwrap();
            second
        })
    };
    let (first, again, end) = done_rx.recv_timeout(DEADLINE).unwrap();
    assert_eq!(
        (first.as_slice(), again.as_slice()),
        (&b"first"[..], &b"second"[..])
    );
    assert_eq!(
        wal.durable_position(),
        Position(0),
        "the fsync has not finished"
    );
    release_tx.send(()).unwrap();
    let first_position = leader.join().unwrap();
    let second = worker.join().unwrap();
    assert!(wal.durable_position() > first_position);
    assert_eq!(end, Position(second.0 + 16 + 6));
    wal.wait_durable(second).unwrap();
    assert_eq!(wal.durable_position(), end);
}
