//! The simulated disk of one node. Writes land in a volatile page cache (`working`, what
//! Raft reads) and in a journal; `sync` makes the journal durable (`durable`). A crash
//! throws the page cache away: the node restarts from `durable` alone. `sync_torn` makes
//! only a prefix of the journal durable, modelling a crash in the middle of an fsync'd
//! batch (each record is atomic, the batch is not).

use std::cell::RefCell;
use std::rc::Rc;

use dougdb_raft::{
    Entry, HardState, LogIndex, LogStore, MemLogStore, Result, Snapshot, SnapshotMetadata,
    SnapshotRead, Term,
};

/// One buffered write, replayed onto the durable image at sync time.
#[derive(Clone, Debug)]
enum Write {
    HardState(HardState),
    Append(Vec<Entry>),
    Compact(Snapshot),
    Install(Snapshot),
}

/// A deliberately broken disk, to prove the checkers catch what it causes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sabotage {
    /// Hard state (term, vote) is never made durable: a restarted node may vote twice.
    ForgetHardState,
    /// A crash also loses the last synced entries (a disk that lies about fsync).
    LoseSyncedTail,
}

#[derive(Debug, Default)]
struct DiskState {
    working: MemLogStore,
    durable: MemLogStore,
    journal: Vec<Write>,
    syncs: u64,
    sabotage: Option<Sabotage>,
}

/// A node's disk. Cloning gives another handle to the same disk: one handle lives inside
/// the Raft node (as its `LogStore`), the simulator keeps another to sync, crash and look.
#[derive(Clone, Debug, Default)]
pub struct SimDisk {
    shared: Rc<RefCell<DiskState>>,
}

fn replay(store: &mut MemLogStore, w: Write) -> Result<()> {
    match w {
        Write::HardState(hs) => store.set_hard_state(&hs),
        Write::Append(entries) => store.append(&entries),
        Write::Compact(s) => store.compact(s),
        Write::Install(s) => store.install_snapshot(s),
    }
}

impl SimDisk {
    /// A disk whose durable (and cached) content is `image`.
    pub fn with_image(image: MemLogStore) -> SimDisk {
        SimDisk {
            shared: Rc::new(RefCell::new(DiskState {
                working: image.clone(),
                durable: image,
                journal: Vec::new(),
                syncs: 0,
                sabotage: None,
            })),
        }
    }

    /// Makes every buffered write durable.
    pub fn sync(&self) -> Result<()> {
        self.sync_torn(usize::MAX)
    }

    /// Makes only the first `records` buffered writes durable and drops the rest from the
    /// journal (the caller crashes right after, so the page cache is discarded too).
    pub fn sync_torn(&self, records: usize) -> Result<()> {
        let mut d = self.shared.borrow_mut();
        let journal = std::mem::take(&mut d.journal);
        d.syncs += 1;
        let forget_hs = d.sabotage == Some(Sabotage::ForgetHardState);
        for w in journal.into_iter().take(records) {
            if forget_hs && matches!(w, Write::HardState(_)) {
                continue;
            }
            replay(&mut d.durable, w)?;
        }
        Ok(())
    }

    /// Records buffered since the last sync.
    pub fn unsynced_records(&self) -> usize {
        self.shared.borrow().journal.len()
    }

    /// Breaks this disk on purpose (see `Sabotage`).
    pub fn sabotage(&self, how: Sabotage) {
        self.shared.borrow_mut().sabotage = Some(how);
    }

    /// Power loss: everything not synced is gone.
    pub fn crash(&self) {
        let mut d = self.shared.borrow_mut();
        d.journal.clear();
        if d.sabotage == Some(Sabotage::LoseSyncedTail) {
            let entries = d.durable.stored_entries();
            if entries.len() > 3 {
                // Re-appending an earlier entry drops everything after it.
                let keep = entries[entries.len() - 3].clone();
                let _ = d.durable.append(&[keep]);
            }
        }
        d.working = d.durable.clone();
    }

    /// A copy of the durable image (what a restart sees).
    pub fn durable(&self) -> MemLogStore {
        self.shared.borrow().durable.clone()
    }

    /// Runs `f` on the durable image without copying it.
    pub fn with_durable<T>(&self, f: impl FnOnce(&MemLogStore) -> T) -> T {
        f(&self.shared.borrow().durable)
    }

    /// Runs `f` on the cached image (the log as the running node sees it).
    pub fn with_working<T>(&self, f: impl FnOnce(&MemLogStore) -> T) -> T {
        f(&self.shared.borrow().working)
    }

    /// Number of syncs so far.
    pub fn syncs(&self) -> u64 {
        self.shared.borrow().syncs
    }

    fn write(&self, w: Write) -> Result<()> {
        let mut d = self.shared.borrow_mut();
        replay(&mut d.working, w.clone())?;
        d.journal.push(w);
        Ok(())
    }
}

impl LogStore for SimDisk {
    fn hard_state(&self) -> Result<HardState> {
        self.shared.borrow().working.hard_state()
    }
    fn set_hard_state(&mut self, hs: &HardState) -> Result<()> {
        self.write(Write::HardState(hs.clone()))
    }
    fn snapshot_metadata(&self) -> Result<SnapshotMetadata> {
        self.shared.borrow().working.snapshot_metadata()
    }
    fn snapshot_read(&self, offset: u64, max_bytes: u64) -> Result<SnapshotRead> {
        self.shared
            .borrow()
            .working
            .snapshot_read(offset, max_bytes)
    }
    fn first_index(&self) -> Result<LogIndex> {
        self.shared.borrow().working.first_index()
    }
    fn last_index(&self) -> Result<LogIndex> {
        self.shared.borrow().working.last_index()
    }
    fn term(&self, index: LogIndex) -> Result<Term> {
        self.shared.borrow().working.term(index)
    }
    fn entries(&self, lo: LogIndex, hi: LogIndex, max_bytes: u64) -> Result<Vec<Entry>> {
        self.shared.borrow().working.entries(lo, hi, max_bytes)
    }
    fn append(&mut self, entries: &[Entry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        self.write(Write::Append(entries.to_vec()))
    }
    fn compact(&mut self, snapshot: Snapshot) -> Result<()> {
        self.write(Write::Compact(snapshot))
    }
    fn install_snapshot(&mut self, snapshot: Snapshot) -> Result<()> {
        self.write(Write::Install(snapshot))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dougdb_raft::{EntryKind, NodeId};

    fn entry(index: u64, term: u64) -> Entry {
        Entry {
            term: Term(term),
            index: LogIndex(index),
            kind: EntryKind::Normal,
            data: vec![index as u8],
        }
    }

    #[test]
    fn crash_loses_exactly_the_unsynced_writes() {
        let disk = SimDisk::default();
        let mut store = disk.clone();
        store.append(&[entry(1, 1), entry(2, 1)]).unwrap();
        let hs = HardState {
            term: Term(1),
            vote: Some(NodeId(2)),
            commit: LogIndex(0),
        };
        store.set_hard_state(&hs).unwrap();
        disk.sync().unwrap();
        store.append(&[entry(3, 1)]).unwrap();
        assert_eq!(store.last_index().unwrap(), LogIndex(3));
        assert_eq!(disk.unsynced_records(), 1);
        disk.crash();
        assert_eq!(store.last_index().unwrap(), LogIndex(2));
        assert_eq!(store.hard_state().unwrap(), hs);
    }

    #[test]
    fn torn_sync_keeps_a_prefix_of_the_batch() {
        let disk = SimDisk::default();
        let mut store = disk.clone();
        store.append(&[entry(1, 1)]).unwrap();
        store
            .set_hard_state(&HardState {
                term: Term(2),
                ..HardState::default()
            })
            .unwrap();
        disk.sync_torn(1).unwrap();
        disk.crash();
        assert_eq!(store.last_index().unwrap(), LogIndex(1));
        assert_eq!(store.hard_state().unwrap(), HardState::default());
        assert_eq!(disk.with_durable(|d| d.stored_entries().len()), 1);
    }
}
