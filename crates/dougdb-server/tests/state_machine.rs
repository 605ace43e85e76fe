//! The replicated command codec and its application: outcomes of each op, exactly-once
//! retries (also across restarts), replays applying once, limits, rejection of bad
//! commands, the bounded session table, and crash + replay from the durable index.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns panic on failure too

use std::path::Path;
use std::sync::Arc;

use dougdb_raft::{Entry, EntryKind, LogIndex, Term};
use dougdb_server::state_machine::{
    Applied, BatchOp, Command, INTERNAL_KEY_PREFIX, Limits, Op, Outcome, Rejection, StateMachine,
    StateMachineOptions, WriteTag, session_key,
};
use dougdb_storage::fs::{FaultFs, SharedFs};
use proptest::prelude::*;

fn sm_opts(fs: &FaultFs) -> StateMachineOptions {
    let mut o = StateMachineOptions::default();
    let shared: SharedFs = Arc::new(fs.clone());
    o.db.fs = shared;
    o
}

fn open(fs: &FaultFs) -> StateMachine {
    StateMachine::open(Path::new("/sm"), sm_opts(fs)).unwrap()
}

fn tag(client_id: u64, sequence: u64) -> WriteTag {
    WriteTag {
        client_id,
        sequence,
    }
}

fn put(t: WriteTag, k: &[u8], v: &[u8]) -> Command {
    Command {
        tag: t,
        op: Op::Put {
            key: k.to_vec(),
            value: v.to_vec(),
        },
    }
}

fn del(t: WriteTag, k: &[u8]) -> Command {
    Command {
        tag: t,
        op: Op::Delete { key: k.to_vec() },
    }
}

fn cas(t: WriteTag, k: &[u8], expected: Option<&[u8]>, new: Option<&[u8]>) -> Command {
    Command {
        tag: t,
        op: Op::Cas {
            key: k.to_vec(),
            expected: expected.map(<[u8]>::to_vec),
            new_value: new.map(<[u8]>::to_vec),
        },
    }
}

fn entry(index: u64, cmd: &Command) -> Entry {
    Entry {
        term: Term(1),
        index: LogIndex(index),
        kind: EntryKind::Normal,
        data: cmd.encode(),
    }
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..24)
}

fn op() -> impl Strategy<Value = Op> {
    let batch_op = prop_oneof![
        (bytes(), bytes()).prop_map(|(key, value)| BatchOp::Put { key, value }),
        bytes().prop_map(|key| BatchOp::Delete { key }),
    ];
    prop_oneof![
        (bytes(), bytes()).prop_map(|(key, value)| Op::Put { key, value }),
        bytes().prop_map(|key| Op::Delete { key }),
        (
            bytes(),
            proptest::option::of(bytes()),
            proptest::option::of(bytes())
        )
            .prop_map(|(key, expected, new_value)| Op::Cas {
                key,
                expected,
                new_value
            }),
        proptest::collection::vec(batch_op, 0..6).prop_map(Op::Batch),
    ]
}

proptest! {
    #[test]
    fn commands_round_trip(c: u64, s: u64, op in op()) {
        let cmd = Command { tag: tag(c, s), op };
        let buf = cmd.encode();
        prop_assert_eq!(Command::decode(&buf).unwrap(), cmd);
        for cut in 0..buf.len() {
            prop_assert!(Command::decode(&buf[..cut]).is_err());
        }
        let mut longer = buf.clone();
        longer.push(0);
        prop_assert!(Command::decode(&longer).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..96)) {
        let _ = Command::decode(&buf);
        let _ = Outcome::decode(&buf);
    }

    #[test]
    fn outcomes_round_trip(existed in proptest::collection::vec(any::<bool>(), 0..9),
                           success: bool, current in proptest::option::of(bytes()), e: bool) {
        for o in [
            Outcome::Put,
            Outcome::Delete { existed: e },
            Outcome::Cas { success, current: current.clone() },
            Outcome::Batch { existed: existed.clone() },
        ] {
            let mut buf = Vec::new();
            o.encode(&mut buf);
            prop_assert_eq!(Outcome::decode(&buf), Ok(o));
        }
    }
}

#[test]
fn ops_give_the_documented_outcomes() {
    let fs = FaultFs::new();
    let mut sm = open(&fs);
    let t = WriteTag::default();
    let mut i = 0;
    let mut apply = |sm: &mut StateMachine, c: Command| {
        i += 1;
        sm.apply_entry(&entry(i, &c)).unwrap()
    };
    assert_eq!(
        apply(&mut sm, del(t, b"k")),
        Applied::Done(Outcome::Delete { existed: false })
    );
    assert_eq!(
        apply(&mut sm, put(t, b"k", b"v1")),
        Applied::Done(Outcome::Put)
    );
    assert_eq!(sm.get(b"k").unwrap(), Some(b"v1".to_vec()));
    let absent_expected = apply(&mut sm, cas(t, b"k", None, Some(b"x")));
    assert_eq!(
        absent_expected,
        Applied::Done(Outcome::Cas {
            success: false,
            current: Some(b"v1".to_vec())
        })
    );
    let swapped = apply(&mut sm, cas(t, b"k", Some(b"v1"), Some(b"v2")));
    assert_eq!(
        swapped,
        Applied::Done(Outcome::Cas {
            success: true,
            current: Some(b"v2".to_vec())
        })
    );
    let deleted = apply(&mut sm, cas(t, b"k", Some(b"v2"), None));
    assert_eq!(
        deleted,
        Applied::Done(Outcome::Cas {
            success: true,
            current: None
        })
    );
    assert_eq!(sm.get(b"k").unwrap(), None);
    let created = apply(&mut sm, cas(t, b"k", None, Some(b"v3")));
    assert_eq!(
        created,
        Applied::Done(Outcome::Cas {
            success: true,
            current: Some(b"v3".to_vec())
        })
    );
    assert_eq!(
        apply(&mut sm, del(t, b"k")),
        Applied::Done(Outcome::Delete { existed: true })
    );
    let batch = Command {
        tag: t,
        op: Op::Batch(vec![
            BatchOp::Put {
                key: b"a".to_vec(),
                value: b"1".to_vec(),
            },
            BatchOp::Delete { key: b"a".to_vec() },
            BatchOp::Delete { key: b"a".to_vec() },
            BatchOp::Delete {
                key: b"zz".to_vec(),
            },
        ]),
    };
    assert_eq!(
        apply(&mut sm, batch),
        Applied::Done(Outcome::Batch {
            existed: vec![false, true, false, false]
        })
    );
    assert_eq!(sm.get(b"a").unwrap(), None);
    assert_eq!(sm.applied_index(), 8);
}

#[test]
fn replaying_the_same_entries_twice_applies_once() {
    let fs = FaultFs::new();
    let mut sm = open(&fs);
    let log: Vec<Entry> = (1..=5)
        .map(|i| {
            entry(
                i,
                &put(WriteTag::default(), format!("k{i}").as_bytes(), &[i as u8]),
            )
        })
        .collect();
    for e in &log {
        assert!(matches!(sm.apply_entry(e).unwrap(), Applied::Done(_)));
    }
    // An untagged delete, then the whole log again: the puts must not resurrect the key.
    let d = entry(6, &del(WriteTag::default(), b"k1"));
    sm.apply_entry(&d).unwrap();
    for e in log.iter().chain([&d]) {
        assert_eq!(sm.apply_entry(e).unwrap(), Applied::AlreadyApplied);
    }
    assert_eq!(sm.get(b"k1").unwrap(), None);
    // Across a clean restart (close flushes): still applied once.
    sm.close().unwrap();
    let mut sm = open(&fs);
    assert_eq!(sm.durable_applied_index(), 6);
    for e in &log {
        assert_eq!(sm.apply_entry(e).unwrap(), Applied::AlreadyApplied);
    }
    assert_eq!(sm.get(b"k1").unwrap(), None);
    assert_eq!(sm.get(b"k5").unwrap(), Some(vec![5]));
}

#[test]
fn a_retried_write_returns_the_first_result() {
    let fs = FaultFs::new();
    let mut sm = open(&fs);
    sm.apply_entry(&entry(1, &put(tag(7, 1), b"k", b"v")))
        .unwrap();
    let first = sm.apply_entry(&entry(2, &del(tag(7, 2), b"k"))).unwrap();
    assert_eq!(first, Applied::Done(Outcome::Delete { existed: true }));
    // The retry was proposed again and committed at a later index: same answer, no effect.
    sm.apply_entry(&entry(3, &put(tag(8, 1), b"k", b"again")))
        .unwrap();
    let retry = sm.apply_entry(&entry(4, &del(tag(7, 2), b"k"))).unwrap();
    assert_eq!(retry, Applied::Duplicate(Outcome::Delete { existed: true }));
    assert_eq!(
        sm.get(b"k").unwrap(),
        Some(b"again".to_vec()),
        "retry applied twice"
    );
    // An older sequence is refused; untagged writes are never deduplicated.
    let stale = sm.apply_entry(&entry(5, &del(tag(7, 1), b"k"))).unwrap();
    assert_eq!(
        stale,
        Applied::Rejected(Rejection::StaleSequence { last: 2 })
    );
    assert_eq!(sm.get(b"k").unwrap(), Some(b"again".to_vec()));
    // The table survives a restart (it is in the LSM, flushed with the data).
    sm.close().unwrap();
    let mut sm = open(&fs);
    let retry = sm.apply_entry(&entry(6, &del(tag(7, 2), b"k"))).unwrap();
    assert_eq!(retry, Applied::Duplicate(Outcome::Delete { existed: true }));
    let cas_first = sm
        .apply_entry(&entry(7, &cas(tag(9, 1), b"c", None, Some(b"1"))))
        .unwrap();
    let cas_retry = sm
        .apply_entry(&entry(8, &cas(tag(9, 1), b"c", None, Some(b"1"))))
        .unwrap();
    let Applied::Done(o) = cas_first else {
        panic!("{cas_first:?}")
    };
    assert_eq!(
        cas_retry,
        Applied::Duplicate(o),
        "a retried cas must not report failure"
    );
}

#[test]
fn the_session_table_is_bounded_and_evicts_the_oldest_client() {
    let fs = FaultFs::new();
    let mut o = sm_opts(&fs);
    o.sessions_max = 2;
    let mut sm = StateMachine::open(Path::new("/sm"), o.clone()).unwrap();
    for (i, client) in [(1, 10), (2, 11), (3, 10), (4, 12)] {
        sm.apply_entry(&entry(i, &put(tag(client, i), b"k", b"v")))
            .unwrap();
    }
    // Client 11 wrote least recently (index 2): evicted; 10 (index 3) and 12 remain.
    assert_eq!(sm.sessions().len(), 2);
    assert!(sm.sessions().get(11).is_none());
    assert!(sm.sessions().get(10).is_some() && sm.sessions().get(12).is_some());
    assert_eq!(sm.db().get(&session_key(11)).unwrap(), None);
    sm.close().unwrap();
    let sm = StateMachine::open(Path::new("/sm"), o).unwrap();
    assert_eq!(sm.sessions().len(), 2);
    assert!(sm.sessions().get(11).is_none());
}

#[test]
fn limits_are_invalid_arguments_before_proposing_and_rejections_at_apply() {
    let limits = Limits {
        key_max_bytes: 8,
        value_max_bytes: 16,
        ..Limits::default()
    };
    let bad = [
        put(WriteTag::default(), b"", b"v"),
        put(WriteTag::default(), &[b'k'; 9], b"v"),
        put(WriteTag::default(), b"k", &[0; 17]),
        del(WriteTag::default(), &[INTERNAL_KEY_PREFIX, b"x"].concat()),
        cas(WriteTag::default(), b"k", Some(&[0; 17]), None),
        Command {
            tag: WriteTag::default(),
            op: Op::Batch(vec![]),
        },
    ];
    for c in &bad {
        assert!(
            matches!(
                limits.check(c),
                Err(dougdb_server::Error::InvalidArgument { .. })
            ),
            "{c:?}"
        );
    }
    assert!(
        limits
            .check(&put(WriteTag::default(), &[b'k'; 8], &[0; 16]))
            .is_ok()
    );
    let fs = FaultFs::new();
    let mut o = sm_opts(&fs);
    o.limits = limits;
    let mut sm = StateMachine::open(Path::new("/sm"), o).unwrap();
    for (i, c) in bad.iter().enumerate() {
        let got = sm.apply_entry(&entry(i as u64 + 1, c)).unwrap();
        assert!(
            matches!(got, Applied::Rejected(Rejection::InvalidArgument { .. })),
            "{got:?}"
        );
    }
    let garbage = Entry {
        term: Term(1),
        index: LogIndex(7),
        kind: EntryKind::Normal,
        data: vec![9, 9],
    };
    assert!(matches!(
        sm.apply_entry(&garbage).unwrap(),
        Applied::Rejected(Rejection::BadCommand { .. })
    ));
    let noop = Entry {
        term: Term(2),
        index: LogIndex(8),
        kind: EntryKind::Noop,
        data: vec![],
    };
    assert_eq!(sm.apply_entry(&noop).unwrap(), Applied::NotACommand);
    assert_eq!(sm.applied_index(), 8);
    assert!(matches!(
        sm.get(b""),
        Err(dougdb_server::Error::InvalidArgument { .. })
    ));
}

#[test]
fn a_crash_loses_unflushed_applies_and_replay_restores_them() {
    let fs = FaultFs::new();
    let log: Vec<Entry> = (1..=6)
        .map(|i| entry(i, &put(tag(3, i), format!("k{i}").as_bytes(), b"v")))
        .collect();
    let mut sm = open(&fs);
    for e in &log[..3] {
        sm.apply_entry(e).unwrap();
    }
    sm.db().flush().unwrap();
    for e in &log[3..] {
        sm.apply_entry(e).unwrap();
    }
    drop(sm);
    fs.restart(); // power cut: only what the flush made durable survives
    let mut sm = open(&fs);
    let durable = sm.durable_applied_index();
    assert_eq!(durable, 3);
    assert_eq!(sm.get(b"k4").unwrap(), None);
    // The node replays its Raft log after the durable index (and the whole log: no harm).
    for e in &log {
        let got = sm.apply_entry(e).unwrap();
        if e.index.0 <= durable {
            assert_eq!(got, Applied::AlreadyApplied);
        } else {
            assert_eq!(got, Applied::Done(Outcome::Put));
        }
    }
    assert_eq!(sm.get(b"k6").unwrap(), Some(b"v".to_vec()));
    assert_eq!(sm.sessions().get(3).map(|s| s.sequence), Some(6));
}

mod common;

/// A follower that fell behind a compacted log gets the leader's SSTables: its stored
/// Raft snapshot is in the table format, and its LSM directory holds those very tables
/// byte for byte (the install wrote files, it did not replay puts into a memtable).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_follower_behind_ends_up_with_the_leaders_sstables() {
    use common::{TestCluster, eventually, get, put};
    use dougdb_proto::v1::Consistency;
    use dougdb_server::cluster::ShardEntry;
    use dougdb_server::state_machine::snapshot;
    use std::time::Duration;

    let shard = ShardEntry {
        id: 0,
        replicas: vec![1, 2, 3],
        joining: vec![],
    };
    let mut c = TestCluster::start_opts(3, vec![shard], false, false, Some(10)).await;
    let leader = c.wait_leader().await;
    let follower = c.live().into_iter().find(|id| *id != leader).unwrap();
    let mut lc = c.doug(leader).await;
    c.kill(follower);
    for i in 0..60u32 {
        lc.put(put(format!("k{i:03}").as_bytes(), b"v"))
            .await
            .unwrap();
    }
    c.restart(follower).await;
    let fc = c.doug(follower).await;
    eventually("the follower to catch up", Duration::from_secs(10), || {
        let mut fc = fc.clone();
        async move {
            let r = fc.get(get(b"k059", Consistency::Eventual)).await.ok()?;
            r.into_inner().value.map(|_| ())
        }
    })
    .await;
    c.kill(follower);
    let shard_dir = c.data_dir(follower).join("shard-0");
    let files = |dir: std::path::PathBuf, suffix: &str| -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.to_string_lossy().ends_with(suffix) {
                out.push(std::fs::read(p).unwrap());
            }
        }
        out
    };
    let snaps = files(shard_dir.join("raft"), ".data");
    assert_eq!(snaps.len(), 1, "one stored snapshot");
    let view = snapshot::decode(&snaps[0]).unwrap();
    assert!(
        view.applied_index >= 10 && !view.tables.is_empty(),
        "{view:?}"
    );
    let ssts = files(shard_dir.join("db"), ".sst");
    let present = view
        .tables
        .iter()
        .filter(|t| ssts.iter().any(|s| s.as_slice() == t.bytes))
        .count();
    // Tables may since have been compacted away; at least one is still there verbatim.
    assert!(
        present >= 1,
        "{present} of {} snapshot tables on disk",
        view.tables.len()
    );
    c.stop_all().await;
}
