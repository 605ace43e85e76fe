//! A conformance suite any `LogStore` must pass. The server's WAL-backed store runs it
//! from its own tests: `dougdb_raft::conformance::run_all(|| make_fresh_store())`.
//! Each check panics with a message naming the check when the store misbehaves.

use crate::error::{Error, Result};
use crate::storage::LogStore;
use crate::types::{
    ConfState, Entry, EntryKind, HardState, LogIndex, NodeId, Snapshot, SnapshotMetadata, Term,
};

/// Runs every check, each against a fresh store from `factory` (which must return an
/// empty store: no entries, default hard state, no snapshot).
pub fn run_all<S: LogStore, F: FnMut() -> S>(mut factory: F) {
    empty_store(&mut factory());
    append_and_read_back(&mut factory());
    entries_respect_max_bytes(&mut factory());
    append_truncates_conflicting_suffix(&mut factory());
    append_rejects_gaps(&mut factory());
    hard_state_round_trip(&mut factory());
    compact_keeps_later_entries(&mut factory());
    snapshot_reads_in_chunks(&mut factory());
    install_snapshot_replaces_log(&mut factory());
}

fn ok<T>(r: Result<T>, check: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("LogStore conformance `{check}`: unexpected error {e}"),
    }
}

fn ents(range: std::ops::RangeInclusive<u64>, term: u64) -> Vec<Entry> {
    range
        .map(|i| Entry {
            term: Term(term),
            index: LogIndex(i),
            kind: EntryKind::Normal,
            data: vec![i as u8; 8],
        })
        .collect()
}

fn snapshot(index: u64, term: u64, data: Vec<u8>) -> Snapshot {
    Snapshot {
        metadata: SnapshotMetadata {
            index: LogIndex(index),
            term: Term(term),
            conf_state: ConfState::with_voters([1, 2, 3]),
        },
        data,
    }
}

/// A fresh store is empty at index 0.
pub fn empty_store<S: LogStore>(s: &mut S) {
    let c = "empty_store";
    assert_eq!(ok(s.first_index(), c), LogIndex(1), "{c}: first_index");
    assert_eq!(ok(s.last_index(), c), LogIndex(0), "{c}: last_index");
    assert_eq!(ok(s.term(LogIndex(0)), c), Term(0), "{c}: term(0)");
    assert_eq!(
        ok(s.hard_state(), c),
        HardState::default(),
        "{c}: hard state"
    );
    assert!(ok(s.entries(LogIndex(1), LogIndex(1), u64::MAX), c).is_empty());
    assert!(
        matches!(s.term(LogIndex(1)), Err(Error::Unavailable { .. })),
        "{c}: term(1)"
    );
}

/// Appended entries read back identically; out-of-range reads are typed errors.
pub fn append_and_read_back<S: LogStore>(s: &mut S) {
    let c = "append_and_read_back";
    let e = ents(1..=5, 1);
    ok(s.append(&e), c);
    ok(s.append(&[]), c);
    assert_eq!(ok(s.last_index(), c), LogIndex(5), "{c}: last_index");
    assert_eq!(
        ok(s.entries(LogIndex(1), LogIndex(6), u64::MAX), c),
        e,
        "{c}"
    );
    assert_eq!(
        ok(s.entries(LogIndex(2), LogIndex(4), u64::MAX), c),
        e[1..3].to_vec()
    );
    assert_eq!(ok(s.term(LogIndex(5)), c), Term(1), "{c}: term(5)");
    assert!(
        matches!(s.term(LogIndex(6)), Err(Error::Unavailable { .. })),
        "{c}"
    );
    assert!(
        matches!(
            s.entries(LogIndex(1), LogIndex(7), u64::MAX),
            Err(Error::Unavailable { .. })
        ),
        "{c}: reading past the end"
    );
}

/// `entries` stops at `max_bytes` but always returns at least one entry.
pub fn entries_respect_max_bytes<S: LogStore>(s: &mut S) {
    let c = "entries_respect_max_bytes";
    let e = ents(1..=5, 1);
    ok(s.append(&e), c);
    let one = e[0].size_bytes();
    assert_eq!(
        ok(s.entries(LogIndex(1), LogIndex(6), 0), c).len(),
        1,
        "{c}: min one"
    );
    assert_eq!(
        ok(s.entries(LogIndex(1), LogIndex(6), one * 2), c).len(),
        2,
        "{c}"
    );
    assert_eq!(
        ok(s.entries(LogIndex(1), LogIndex(6), one * 2 + 1), c).len(),
        2,
        "{c}"
    );
}

/// Appending at an existing index replaces that entry and everything after it.
pub fn append_truncates_conflicting_suffix<S: LogStore>(s: &mut S) {
    let c = "append_truncates_conflicting_suffix";
    ok(s.append(&ents(1..=5, 1)), c);
    ok(s.append(&ents(3..=3, 2)), c);
    assert_eq!(ok(s.last_index(), c), LogIndex(3), "{c}: suffix removed");
    assert_eq!(ok(s.term(LogIndex(3)), c), Term(2), "{c}: replaced");
    assert_eq!(ok(s.term(LogIndex(2)), c), Term(1), "{c}: prefix kept");
    ok(s.append(&ents(4..=6, 2)), c);
    assert_eq!(ok(s.last_index(), c), LogIndex(6), "{c}: extend");
}

/// Appending past `last_index + 1` is refused and changes nothing.
pub fn append_rejects_gaps<S: LogStore>(s: &mut S) {
    let c = "append_rejects_gaps";
    ok(s.append(&ents(1..=2, 1)), c);
    assert!(s.append(&ents(4..=5, 1)).is_err(), "{c}: gap accepted");
    assert_eq!(ok(s.last_index(), c), LogIndex(2), "{c}: log changed");
}

/// The hard state reads back as written.
pub fn hard_state_round_trip<S: LogStore>(s: &mut S) {
    let c = "hard_state_round_trip";
    let hs = HardState {
        term: Term(7),
        vote: Some(NodeId(3)),
        commit: LogIndex(0),
    };
    ok(s.set_hard_state(&hs), c);
    assert_eq!(ok(s.hard_state(), c), hs, "{c}");
}

/// Compaction keeps the snapshot and the entries after it; older reads are `Compacted`.
pub fn compact_keeps_later_entries<S: LogStore>(s: &mut S) {
    let c = "compact_keeps_later_entries";
    ok(s.append(&ents(1..=10, 1)), c);
    ok(s.compact(snapshot(4, 1, b"state".to_vec())), c);
    assert_eq!(ok(s.first_index(), c), LogIndex(5), "{c}: first_index");
    assert_eq!(ok(s.last_index(), c), LogIndex(10), "{c}: last_index");
    assert_eq!(ok(s.term(LogIndex(4)), c), Term(1), "{c}: term at snapshot");
    assert_eq!(
        ok(s.snapshot_metadata(), c).index,
        LogIndex(4),
        "{c}: metadata"
    );
    assert!(
        matches!(s.term(LogIndex(3)), Err(Error::Compacted { .. })),
        "{c}"
    );
    assert!(
        matches!(
            s.entries(LogIndex(4), LogIndex(6), u64::MAX),
            Err(Error::Compacted { .. })
        ),
        "{c}: entries below first_index"
    );
    assert_eq!(
        ok(s.entries(LogIndex(5), LogIndex(11), u64::MAX), c),
        ents(5..=10, 1)
    );
    assert!(
        matches!(
            s.compact(snapshot(3, 1, vec![])),
            Err(Error::SnapshotOutOfDate { .. })
        ),
        "{c}: older compaction accepted"
    );
    assert!(
        s.compact(snapshot(6, 9, vec![])).is_err(),
        "{c}: wrong term accepted"
    );
    ok(s.append(&ents(11..=11, 2)), c);
    assert_eq!(
        ok(s.last_index(), c),
        LogIndex(11),
        "{c}: append after compaction"
    );
}

/// The snapshot's bytes can be streamed in chunks without knowing the total size.
pub fn snapshot_reads_in_chunks<S: LogStore>(s: &mut S) {
    let c = "snapshot_reads_in_chunks";
    ok(s.append(&ents(1..=3, 1)), c);
    let data: Vec<u8> = (0..=250u8).collect();
    ok(s.compact(snapshot(3, 1, data.clone())), c);
    let mut got = Vec::new();
    let mut offset = 0u64;
    for _ in 0..1000 {
        let r = ok(s.snapshot_read(offset, 64), c);
        assert!(r.data.len() <= 64, "{c}: chunk too large");
        offset += r.data.len() as u64;
        got.extend_from_slice(&r.data);
        if r.done {
            break;
        }
        assert!(!r.data.is_empty(), "{c}: empty chunk before done");
    }
    assert_eq!(got, data, "{c}: reassembled bytes");
}

/// Installing a newer snapshot replaces the log; an older one is refused.
pub fn install_snapshot_replaces_log<S: LogStore>(s: &mut S) {
    let c = "install_snapshot_replaces_log";
    ok(s.append(&ents(1..=5, 1)), c);
    ok(s.install_snapshot(snapshot(20, 3, b"x".to_vec())), c);
    assert_eq!(ok(s.first_index(), c), LogIndex(21), "{c}: first_index");
    assert_eq!(ok(s.last_index(), c), LogIndex(20), "{c}: last_index");
    assert_eq!(
        ok(s.term(LogIndex(20)), c),
        Term(3),
        "{c}: term at snapshot"
    );
    let meta = ok(s.snapshot_metadata(), c);
    assert_eq!(
        meta.conf_state,
        ConfState::with_voters([1, 2, 3]),
        "{c}: conf state"
    );
    assert!(
        matches!(
            s.install_snapshot(snapshot(20, 3, vec![])),
            Err(Error::SnapshotOutOfDate { .. })
        ),
        "{c}: same snapshot twice"
    );
    ok(s.append(&ents(21..=22, 3)), c);
    assert_eq!(
        ok(s.last_index(), c),
        LogIndex(22),
        "{c}: append after install"
    );
}
