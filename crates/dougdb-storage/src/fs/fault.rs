//! An in-memory [`FileSystem`] that models a disk with a volatile cache, for crash tests.
//!
//! Every file has its current bytes and its *durable* bytes (as of its last `sync`); the
//! directory namespace likewise has a live view and a durable view (as of `sync_dir`). A
//! simulated crash throws away everything not durable, optionally keeping a random prefix
//! of each file's unsynced appended tail (a torn write), then the engine is reopened on
//! what is left. Sync points (file syncs and directory syncs) are counted, so a test can
//! crash "just before sync point k" for every k of a workload.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use super::{FileSystem, ReadableFile, WritableFile};
use crate::error::{Error, Result};

/// How the next crash behaves.
#[derive(Debug, Clone, Copy, Default)]
pub struct CrashConfig {
    /// Crash instead of performing sync point number `k` (0-based, counted from the last
    /// restart): that sync and every later operation fail until [`FaultFs::restart`].
    pub crash_before_sync: Option<u64>,
    /// When set, a crash keeps a pseudo-random prefix (seeded) of each file's unsynced
    /// appended bytes, as a disk that wrote part of its cache would.
    pub torn_tail_seed: Option<u64>,
}

/// A fault-injecting in-memory file system. Cheap to clone; clones share the disk.
#[derive(Debug, Clone, Default)]
pub struct FaultFs {
    state: Arc<Mutex<State>>,
}

/// What survives a crash of one file's bytes.
#[derive(Debug, Clone)]
enum Durable {
    /// The durable bytes are `data[..len]`: only appends happened since the last sync.
    Prefix(usize),
    /// A truncation since the last sync changed bytes below the synced length.
    Owned(Vec<u8>),
}

#[derive(Debug)]
struct Inode {
    data: Vec<u8>,
    durable: Durable,
}

impl Inode {
    fn new() -> Self {
        Inode {
            data: Vec::new(),
            durable: Durable::Prefix(0),
        }
    }

    fn durable_bytes(&self) -> &[u8] {
        match &self.durable {
            Durable::Prefix(len) => &self.data[..*len],
            Durable::Owned(bytes) => bytes,
        }
    }
}

#[derive(Debug, Default)]
struct State {
    inodes: HashMap<u64, Inode>,
    next_inode: u64,
    live: BTreeMap<PathBuf, u64>,
    durable_ns: BTreeMap<PathBuf, u64>,
    dirs: BTreeSet<PathBuf>,
    /// Bumped at every restart: handles from before it fail.
    epoch: u64,
    sync_points: u64,
    crashed: bool,
    config: CrashConfig,
}

fn crashed_error(path: &Path) -> Error {
    Error::io(
        path,
        std::io::Error::other("simulated crash: the disk is gone until restart"),
    )
}

fn not_found(path: &Path) -> Error {
    Error::io(path, std::io::Error::from(std::io::ErrorKind::NotFound))
}

fn parent_of(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// splitmix64: a tiny seeded generator, enough to choose torn lengths reproducibly.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl State {
    fn check(&self, epoch: u64, path: &Path) -> Result<()> {
        if self.crashed || epoch != self.epoch {
            return Err(crashed_error(path));
        }
        Ok(())
    }

    /// Counts a sync point; returns an error (and enters the crashed state) if the
    /// configured crash point is reached.
    fn sync_point(&mut self, path: &Path) -> Result<()> {
        if self.crashed {
            return Err(crashed_error(path));
        }
        let k = self.sync_points;
        self.sync_points += 1;
        if self.config.crash_before_sync == Some(k) {
            self.crashed = true;
            return Err(crashed_error(path));
        }
        Ok(())
    }

    fn inode_mut(&mut self, id: u64, path: &Path) -> Result<&mut Inode> {
        self.inodes.get_mut(&id).ok_or_else(|| not_found(path))
    }
}

#[derive(Debug)]
struct FaultFile {
    state: Arc<Mutex<State>>,
    path: PathBuf,
    inode: u64,
    epoch: u64,
}

impl WritableFile for FaultFile {
    fn append(&self, buf: &[u8]) -> Result<()> {
        let mut st = self.state.lock();
        st.check(self.epoch, &self.path)?;
        st.inode_mut(self.inode, &self.path)?
            .data
            .extend_from_slice(buf);
        Ok(())
    }

    fn sync(&self) -> Result<()> {
        let mut st = self.state.lock();
        st.check(self.epoch, &self.path)?;
        st.sync_point(&self.path)?;
        let inode = st.inode_mut(self.inode, &self.path)?;
        inode.durable = Durable::Prefix(inode.data.len());
        Ok(())
    }

    fn truncate(&self, len: u64) -> Result<()> {
        let mut st = self.state.lock();
        st.check(self.epoch, &self.path)?;
        let inode = st.inode_mut(self.inode, &self.path)?;
        let len = usize::try_from(len)
            .unwrap_or(usize::MAX)
            .min(inode.data.len());
        if let Durable::Prefix(durable_len) = inode.durable
            && len < durable_len
        {
            inode.durable = Durable::Owned(inode.data[..durable_len].to_vec());
        }
        inode.data.truncate(len);
        Ok(())
    }

    fn len(&self) -> u64 {
        let st = self.state.lock();
        st.inodes
            .get(&self.inode)
            .map_or(0, |inode| inode.data.len() as u64)
    }
}

impl ReadableFile for FaultFile {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        let st = self.state.lock();
        st.check(self.epoch, &self.path)?;
        let inode = st
            .inodes
            .get(&self.inode)
            .ok_or_else(|| not_found(&self.path))?;
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        let end = start.saturating_add(buf.len());
        if end > inode.data.len() {
            return Err(Error::io(
                &self.path,
                std::io::Error::from(std::io::ErrorKind::UnexpectedEof),
            ));
        }
        buf.copy_from_slice(&inode.data[start..end]);
        Ok(())
    }

    fn len(&self) -> Result<u64> {
        let st = self.state.lock();
        st.check(self.epoch, &self.path)?;
        Ok(st
            .inodes
            .get(&self.inode)
            .map_or(0, |i| i.data.len() as u64))
    }
}

impl FaultFs {
    /// An empty disk.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets how the next crash happens; resets nothing else.
    pub fn set_crash_config(&self, config: CrashConfig) {
        self.state.lock().config = config;
    }

    /// Sync points (file syncs plus directory syncs) since the last restart.
    pub fn sync_points(&self) -> u64 {
        self.state.lock().sync_points
    }

    /// True once a configured crash point was hit (or [`FaultFs::crash`] was called).
    pub fn is_crashed(&self) -> bool {
        self.state.lock().crashed
    }

    /// Crashes now: every operation fails until [`FaultFs::restart`].
    pub fn crash(&self) {
        self.state.lock().crashed = true;
    }

    /// Brings the disk back after a crash (or simulates a power cut now if none happened):
    /// only durable names and bytes survive, plus torn tails if configured. Handles opened
    /// before this call fail from now on. The sync-point counter restarts at 0 and the
    /// crash point is cleared.
    pub fn restart(&self) {
        let mut st = self.state.lock();
        let mut rng = st.config.torn_tail_seed;
        let survivors: BTreeSet<u64> = st.durable_ns.values().copied().collect();
        let mut inodes = HashMap::new();
        for id in &survivors {
            let Some(inode) = st.inodes.get(id) else {
                continue;
            };
            let mut bytes = inode.durable_bytes().to_vec();
            if let Some(seed) = rng.as_mut() {
                let unsynced = inode.data.get(bytes.len()..).unwrap_or_default();
                let appended_only = inode.data.starts_with(&bytes);
                if appended_only && !unsynced.is_empty() {
                    let keep = (splitmix(seed) % (unsynced.len() as u64 + 1)) as usize;
                    bytes.extend_from_slice(&unsynced[..keep]);
                }
            }
            let len = bytes.len();
            inodes.insert(
                *id,
                Inode {
                    data: bytes,
                    durable: Durable::Prefix(len),
                },
            );
        }
        st.inodes = inodes;
        st.live = st.durable_ns.clone();
        st.epoch += 1;
        st.sync_points = 0;
        st.crashed = false;
        st.config.crash_before_sync = None;
    }

    /// XORs `mask` into the byte at `offset` of `path`, in both the current and durable
    /// images (a bit rot on the platter). Returns false if there is no such byte.
    pub fn corrupt(&self, path: &Path, offset: u64, mask: u8) -> bool {
        let mut st = self.state.lock();
        let Some(id) = st.live.get(path).copied() else {
            return false;
        };
        let Some(inode) = st.inodes.get_mut(&id) else {
            return false;
        };
        let Ok(at) = usize::try_from(offset) else {
            return false;
        };
        if at >= inode.data.len() {
            return false;
        }
        inode.data[at] ^= mask;
        if let Durable::Owned(bytes) = &mut inode.durable
            && let Some(b) = bytes.get_mut(at)
        {
            *b ^= mask;
        }
        true
    }

    /// Current length of `path`, if it exists.
    pub fn file_len(&self, path: &Path) -> Option<u64> {
        let st = self.state.lock();
        let id = st.live.get(path)?;
        st.inodes.get(id).map(|i| i.data.len() as u64)
    }

    /// Every live file path, sorted.
    pub fn files(&self) -> Vec<PathBuf> {
        self.state.lock().live.keys().cloned().collect()
    }

    fn handle(&self, path: &Path, inode: u64, epoch: u64) -> Arc<FaultFile> {
        Arc::new(FaultFile {
            state: Arc::clone(&self.state),
            path: path.to_path_buf(),
            inode,
            epoch,
        })
    }

    fn check_parent(st: &State, path: &Path) -> Result<()> {
        let parent = parent_of(path);
        if parent.as_os_str().is_empty() || st.dirs.contains(&parent) {
            Ok(())
        } else {
            Err(not_found(&parent))
        }
    }
}

impl FileSystem for FaultFs {
    fn create_dir_all(&self, dir: &Path) -> Result<()> {
        let mut st = self.state.lock();
        st.check(st.epoch, dir)?;
        for ancestor in dir.ancestors() {
            if !ancestor.as_os_str().is_empty() {
                st.dirs.insert(ancestor.to_path_buf());
            }
        }
        Ok(())
    }

    fn create(&self, path: &Path) -> Result<Arc<dyn WritableFile>> {
        let mut st = self.state.lock();
        st.check(st.epoch, path)?;
        Self::check_parent(&st, path)?;
        let id = st.next_inode;
        st.next_inode += 1;
        st.inodes.insert(id, Inode::new());
        st.live.insert(path.to_path_buf(), id);
        Ok(self.handle(path, id, st.epoch))
    }

    fn open_append(&self, path: &Path) -> Result<Arc<dyn WritableFile>> {
        let st = self.state.lock();
        st.check(st.epoch, path)?;
        let id = *st.live.get(path).ok_or_else(|| not_found(path))?;
        Ok(self.handle(path, id, st.epoch))
    }

    fn open_read(&self, path: &Path) -> Result<Arc<dyn ReadableFile>> {
        let st = self.state.lock();
        st.check(st.epoch, path)?;
        let id = *st.live.get(path).ok_or_else(|| not_found(path))?;
        Ok(self.handle(path, id, st.epoch))
    }

    fn list_dir(&self, dir: &Path) -> Result<Vec<String>> {
        let st = self.state.lock();
        st.check(st.epoch, dir)?;
        if !st.dirs.contains(dir) {
            return Err(not_found(dir));
        }
        let mut names: Vec<String> = st
            .live
            .keys()
            .filter(|p| p.parent() == Some(dir))
            .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
            .collect();
        names.sort();
        Ok(names)
    }

    fn remove_file(&self, path: &Path) -> Result<()> {
        let mut st = self.state.lock();
        st.check(st.epoch, path)?;
        st.live.remove(path).ok_or_else(|| not_found(path))?;
        Ok(())
    }

    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        let mut st = self.state.lock();
        st.check(st.epoch, from)?;
        Self::check_parent(&st, to)?;
        let id = st.live.remove(from).ok_or_else(|| not_found(from))?;
        st.live.insert(to.to_path_buf(), id);
        Ok(())
    }

    fn exists(&self, path: &Path) -> bool {
        let st = self.state.lock();
        st.live.contains_key(path) || st.dirs.contains(path)
    }

    fn sync_dir(&self, dir: &Path) -> Result<()> {
        let mut st = self.state.lock();
        st.check(st.epoch, dir)?;
        st.sync_point(dir)?;
        let in_dir = |p: &PathBuf| p.parent() == Some(dir);
        st.durable_ns.retain(|p, _| !in_dir(p));
        let entries: Vec<(PathBuf, u64)> = st
            .live
            .iter()
            .filter(|(p, _)| in_dir(p))
            .map(|(p, id)| (p.clone(), *id))
            .collect();
        st.durable_ns.extend(entries);
        Ok(())
    }
}

#[cfg(test)]
#[path = "fault_tests.rs"]
mod tests;
