//! `WalLogStore`: the `LogStore` conformance suite, restarts, and crash tests with
//! `FaultFs` (crash before every sync point of a workload, with and without torn tails;
//! the torn-tail seed is printed and replayed with `DOUGDB_SEED`).

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns panic on failure too

use std::path::Path;
use std::sync::Arc;

use dougdb_raft::{
    ConfState, Config, Entry, EntryKind, HardState, LogIndex, LogStore, MemLogStore, NodeId,
    RawNode, Snapshot, SnapshotMetadata, Term,
};
use dougdb_server::raft_store::{RaftStoreOptions, WalLogStore};
use dougdb_storage::fs::{CrashConfig, FaultFs, SharedFs};
use dougdb_storage::wal::WalOptions;

/// Small segments so that compaction really deletes segment files.
fn opts() -> RaftStoreOptions {
    RaftStoreOptions {
        wal: WalOptions {
            segment_size_bytes: 256,
            ..WalOptions::default()
        },
        deferred_sync: false,
    }
}

fn open(fs: &FaultFs) -> dougdb_server::Result<WalLogStore> {
    let shared: SharedFs = Arc::new(fs.clone());
    WalLogStore::open(shared, Path::new("/group"), opts())
}

#[test]
fn passes_the_conformance_suite_on_fault_fs() {
    dougdb_raft::conformance::run_all(|| open(&FaultFs::new()).unwrap());
}

#[test]
fn passes_the_conformance_suite_on_the_real_disk() {
    let dirs: Vec<tempfile::TempDir> = (0..9).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut next = dirs.iter();
    dougdb_raft::conformance::run_all(|| {
        let dir = next.next().unwrap().path();
        WalLogStore::open(dougdb_storage::fs::real(), dir, opts()).unwrap()
    });
}

fn ents(range: std::ops::RangeInclusive<u64>, term: u64) -> Vec<Entry> {
    range
        .map(|i| Entry {
            term: Term(term),
            index: LogIndex(i),
            kind: if i % 5 == 0 {
                EntryKind::Noop
            } else {
                EntryKind::Normal
            },
            data: vec![i as u8; (i % 7) as usize * 9],
        })
        .collect()
}

fn hs(term: u64, vote: u64, commit: u64) -> HardState {
    HardState {
        term: Term(term),
        vote: (vote != 0).then_some(NodeId(vote)),
        commit: LogIndex(commit),
    }
}

fn snap(index: u64, term: u64, data: &[u8]) -> Snapshot {
    Snapshot {
        metadata: SnapshotMetadata {
            index: LogIndex(index),
            term: Term(term),
            conf_state: ConfState::with_voters([1, 2, 3]),
        },
        data: data.to_vec(),
    }
}

#[derive(Clone, Debug)]
enum Op {
    Hs(HardState),
    Append(Vec<Entry>),
    Compact(Snapshot),
    Install(Snapshot),
}

fn workload() -> Vec<Op> {
    vec![
        Op::Hs(hs(1, 1, 0)),
        Op::Append(ents(1..=5, 1)),
        Op::Hs(hs(1, 1, 3)),
        Op::Hs(hs(2, 2, 3)),
        Op::Append(ents(4..=6, 2)),
        Op::Compact(snap(4, 2, b"state at four")),
        Op::Append(ents(7..=12, 2)),
        Op::Hs(hs(2, 2, 10)),
        Op::Install(snap(20, 3, &[7u8; 300])),
        Op::Append(ents(21..=23, 3)),
        Op::Hs(hs(4, 0, 22)),
        Op::Append(ents(22..=22, 4)),
        Op::Compact(snap(21, 3, b"")),
        Op::Append(ents(23..=30, 4)),
    ]
}

fn apply<S: LogStore>(s: &mut S, op: &Op) -> dougdb_raft::Result<()> {
    match op {
        Op::Hs(h) => s.set_hard_state(h),
        Op::Append(e) => s.append(e),
        Op::Compact(sn) => s.compact(sn.clone()),
        Op::Install(sn) => s.install_snapshot(sn.clone()),
    }
}

/// Everything a log store promises to keep.
#[derive(Clone, Debug, PartialEq, Eq)]
struct State {
    hs: HardState,
    snap: Snapshot,
    entries: Vec<Entry>,
}

fn entries_of<S: LogStore>(s: &S) -> Vec<Entry> {
    let (lo, hi) = (s.first_index().unwrap(), s.last_index().unwrap().next());
    s.entries(lo, hi, u64::MAX).unwrap()
}

fn dump_mem(s: &MemLogStore) -> State {
    State {
        hs: s.hard_state().unwrap(),
        snap: s.snapshot().clone(),
        entries: entries_of(s),
    }
}

fn dump_wal(s: &WalLogStore) -> State {
    State {
        hs: s.hard_state().unwrap(),
        snap: s.snapshot().unwrap(),
        entries: entries_of(s),
    }
}

#[test]
fn restart_on_the_real_disk_keeps_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = MemLogStore::new();
    {
        let mut s = WalLogStore::open(dougdb_storage::fs::real(), dir.path(), opts()).unwrap();
        for op in workload() {
            apply(&mut s, &op).unwrap();
            apply(&mut model, &op).unwrap();
        }
        assert_eq!(dump_wal(&s), dump_mem(&model));
    }
    let s = WalLogStore::open(dougdb_storage::fs::real(), dir.path(), opts()).unwrap();
    assert_eq!(dump_wal(&s), dump_mem(&model));
    // Compaction at 21 removed the older snapshot file and old segments.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        names.iter().filter(|n| n.starts_with("snap-")).count(),
        1,
        "{names:?}"
    );
}

#[test]
fn deferred_sync_persists_on_sync() {
    let fs = FaultFs::new();
    let shared: SharedFs = Arc::new(fs.clone());
    let o = RaftStoreOptions {
        deferred_sync: true,
        ..opts()
    };
    let mut s = WalLogStore::open(Arc::clone(&shared), Path::new("/g"), o).unwrap();
    s.append(&ents(1..=3, 1)).unwrap();
    s.set_hard_state(&hs(1, 1, 2)).unwrap();
    let before = fs.sync_points();
    s.sync().unwrap();
    assert_eq!(
        fs.sync_points(),
        before + 1,
        "one fsync for entries and hard state"
    );
    s.append(&ents(4..=4, 1)).unwrap(); // never synced: lost at the crash
    drop(s);
    fs.restart();
    let s = WalLogStore::open(shared, Path::new("/g"), o).unwrap();
    assert_eq!(s.last_index().unwrap(), LogIndex(3));
    assert_eq!(s.hard_state().unwrap(), hs(1, 1, 2));
}

fn seed() -> u64 {
    let seed = std::env::var("DOUGDB_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    println!("seed {seed} (replay with DOUGDB_SEED={seed})");
    seed
}

/// Is `got` what a crash during `op` may leave, starting from `before`?
fn acceptable(got: &State, before: &State, after: &State, op: &Op) -> bool {
    if got == before || got == after {
        return true;
    }
    // A torn tail may keep a prefix of one append's records: the log is then the old log
    // cut at the first new index, plus that prefix.
    let Op::Append(new) = op else { return false };
    let Some(first) = new.first() else {
        return false;
    };
    if got.hs != before.hs || got.snap != before.snap {
        return false;
    }
    let cut = (first.index.0 - before.snap.metadata.index.0 - 1) as usize;
    (0..=new.len()).any(|j| {
        let mut e = before.entries[..cut.min(before.entries.len())].to_vec();
        e.extend_from_slice(&new[..j]);
        got.entries == e
    })
}

fn crash_at_every_sync_point(torn_seed: Option<u64>) {
    let ops = workload();
    let total = {
        let fs = FaultFs::new();
        let mut s = open(&fs).unwrap();
        for op in &ops {
            apply(&mut s, op).unwrap();
        }
        fs.sync_points()
    };
    assert!(total > 20, "workload too small: {total} sync points");
    for k in 0..=total {
        let fs = FaultFs::new();
        fs.set_crash_config(CrashConfig {
            crash_before_sync: Some(k),
            torn_tail_seed: torn_seed.map(|s| s ^ k),
        });
        let mut model = MemLogStore::new();
        let mut inflight: Option<(State, State, Op)> = None;
        if let Ok(mut s) = open(&fs) {
            for op in &ops {
                let mut next = model.clone();
                apply(&mut next, op).unwrap();
                match apply(&mut s, op) {
                    Ok(()) => model = next,
                    Err(_) => {
                        inflight = Some((dump_mem(&model), dump_mem(&next), op.clone()));
                        break;
                    }
                }
            }
        }
        fs.restart();
        let mut s = open(&fs).unwrap_or_else(|e| panic!("crash point {k}: reopen failed: {e}"));
        let got = dump_wal(&s);
        match &inflight {
            None => assert_eq!(got, dump_mem(&model), "crash point {k}"),
            Some((before, after, op)) => assert!(
                acceptable(&got, before, after, op),
                "crash point {k} during {op:?}:\n got {got:?}\n before {before:?}\n after {after:?}"
            ),
        }
        // The recovered store keeps working and survives another restart.
        let next = s.last_index().unwrap().next();
        let term = s.term(next.prev()).unwrap().0.max(1);
        s.append(&ents(next.0..=next.0 + 1, term)).unwrap();
        let expect = dump_wal(&s);
        drop(s);
        fs.restart();
        assert_eq!(
            dump_wal(&open(&fs).unwrap()),
            expect,
            "crash point {k}: second restart"
        );
    }
}

#[test]
fn crash_before_every_sync_point_keeps_what_was_acknowledged() {
    crash_at_every_sync_point(None);
}

#[test]
fn crash_with_torn_tails_keeps_what_was_acknowledged() {
    crash_at_every_sync_point(Some(seed()));
}

#[test]
fn a_bootstrapped_single_node_group_restarts_with_its_log() {
    let fs = FaultFs::new();
    let mut store = open(&fs).unwrap();
    store.bootstrap(ConfState::with_voters([1])).unwrap();
    assert!(
        open(&fs)
            .unwrap()
            .bootstrap(ConfState::with_voters([1]))
            .is_err()
    );
    let mut node = RawNode::new(Config::new(NodeId(1)), store).unwrap();
    node.campaign().unwrap();
    let mut proposed = false;
    let mut applied = Vec::new();
    for _ in 0..20 {
        if node.status().role == dougdb_raft::Role::Leader && !proposed {
            node.propose(b"hello".to_vec()).unwrap();
            proposed = true;
        }
        if !node.has_ready() {
            continue;
        }
        let rd = node.ready().unwrap();
        node.persist(&rd).unwrap();
        applied.extend(rd.committed_entries.iter().map(|e| e.data.clone()));
        node.advance().unwrap();
    }
    assert!(applied.contains(&b"hello".to_vec()), "{applied:?}");
    let (last, term) = (node.status().last_index, node.status().term);
    drop(node);
    fs.restart();
    let node = RawNode::new(Config::new(NodeId(1)), open(&fs).unwrap()).unwrap();
    assert_eq!(node.status().last_index, last);
    assert_eq!(node.status().term, term);
}
