//! Writes the seed corpus of the targets whose inputs random bytes rarely get right
//! (checksummed files, length-prefixed records) into `fuzz/seeds/<target>/`: one valid
//! example per format and variant, encoded by the code under test. Rerun after a format
//! change: `cd fuzz && cargo run --example seeds` (committed; scripts/fuzz-smoke.sh
//! passes each target's seed directory to libFuzzer beside its working corpus).

use std::collections::BTreeSet;
use std::path::Path;

use dougdb_fuzz::raft_store::{meta, record};
use dougdb_fuzz::state_machine::command::{BatchOp, Command, Op, WriteTag};
use dougdb_fuzz::state_machine::outcome::Outcome;
use dougdb_fuzz::state_machine::sessions::Session;
use dougdb_fuzz::state_machine::snapshot::SnapshotWriter;
use dougdb_plugin_abi as abi;
use dougdb_raft::{
    ConfChange, ConfChangeKind, ConfChangeRecord, ConfState, Entry, EntryKind, HardState, LogIndex,
    NodeId, SnapshotMetadata, Term,
};
use dougdb_storage::wal::Position;

fn save(target: &str, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(target);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(name), bytes)
}

fn with_selector(selector: u8, bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![selector];
    out.extend_from_slice(bytes);
    out
}

fn outcomes() -> Vec<Outcome> {
    vec![
        Outcome::Put,
        Outcome::Delete { existed: true },
        Outcome::Cas {
            success: false,
            current: Some(b"now".to_vec()),
        },
        Outcome::Batch {
            existed: vec![false, true],
        },
    ]
}

fn commands() -> Vec<Command> {
    let tag = WriteTag {
        client_id: 7,
        sequence: 3,
    };
    let key = b"key".to_vec();
    vec![
        Command {
            tag,
            op: Op::Put {
                key: key.clone(),
                value: b"value".to_vec(),
            },
        },
        Command {
            tag: WriteTag::default(),
            op: Op::Delete { key: key.clone() },
        },
        Command {
            tag,
            op: Op::Cas {
                key: key.clone(),
                expected: Some(b"old".to_vec()),
                new_value: None,
            },
        },
        Command {
            tag,
            op: Op::Batch(vec![
                BatchOp::Put {
                    key: key.clone(),
                    value: b"v".to_vec(),
                },
                BatchOp::Delete { key },
            ]),
        },
    ]
}

fn snapshot() -> Vec<u8> {
    let sessions = [
        Session {
            sequence: 3,
            index: 10,
            outcome: Outcome::Put,
        },
        Session {
            sequence: 9,
            index: 12,
            outcome: Outcome::Delete { existed: false },
        },
    ];
    let refs = [(1, &sessions[0]), (5, &sessions[1])];
    let mut w = SnapshotWriter::new(12, 40, &refs, 2, 16);
    for (level, name, bytes) in [(0, "000001.sst", &b"table one"[..]), (1, "000002.sst", b"")] {
        if let Err(e) = w.add_table(level, name, |out| {
            out.extend_from_slice(bytes);
            Ok(())
        }) {
            panic!("seed snapshot: {e:?}");
        }
    }
    w.finish()
}

fn main() -> std::io::Result<()> {
    for (i, c) in commands().iter().enumerate() {
        save("sm_command", &format!("op{i}"), &c.encode())?;
    }
    for (i, o) in outcomes().iter().enumerate() {
        let mut out = Vec::new();
        o.encode(&mut out);
        save("sm_outcome", &format!("tag{i}"), &out)?;
    }
    save("sm_snapshot", "valid", &with_selector(0, &snapshot()))?;

    let entry = Entry {
        term: Term(2),
        index: LogIndex(5),
        kind: EntryKind::Normal,
        data: commands()[0].encode(),
    };
    let mut out = Vec::new();
    record::encode_entry(&entry, &mut out);
    save("raft_log_record", "entry", &out)?;
    let hs = HardState {
        term: Term(2),
        vote: Some(NodeId(1)),
        commit: LogIndex(4),
    };
    save(
        "raft_log_record",
        "hard_state",
        &record::encode_hard_state(&hs),
    )?;

    let conf = ConfState {
        voters: BTreeSet::from([NodeId(1), NodeId(2), NodeId(3)]),
        learners: BTreeSet::from([NodeId(4)]),
    };
    let m = meta::Meta {
        log_start: Position(4096),
        hard_state: hs,
        snapshot: SnapshotMetadata {
            index: LogIndex(3),
            term: Term(1),
            conf_state: conf.clone(),
        },
        snapshot_len: 100,
        snapshot_crc: 0xdead_beef,
    };
    save("raft_meta", "valid", &meta::encode(&m))?;
    let rec = ConfChangeRecord {
        change: ConfChange {
            kind: ConfChangeKind::AddLearner,
            node: NodeId(4),
            context: b"127.0.0.1:7104".to_vec(),
        },
        conf_state: conf,
    };
    save("raft_conf_change", "add_learner", &rec.encode())?;

    let task = abi::CompactionTask {
        inputs: vec![abi::TableId(1), abi::TableId(2)],
        output_level: 1,
    };
    abi::encode_task(Some(&task), &mut out);
    save("plugin_output", "task", &with_selector(0, &out))?;
    abi::encode_shards(&[0, 1, 2], &mut out);
    save(
        "plugin_output",
        "shards",
        &with_selector(1, &with_selector(3, &out)),
    )?;
    abi::encode_keys(&[b"a", b"", b"key"], &mut out);
    save("plugin_input", "keys", &with_selector(0, &out))?;
    let table = abi::TableSummary {
        id: abi::TableId(1),
        size_bytes: 100,
        entries: 10,
        tombstones: 1,
        smallest_key: b"a".to_vec(),
        largest_key: b"z".to_vec(),
        smallest_seq: 1,
        largest_seq: 10,
    };
    let summary = abi::LevelsSummary {
        levels: vec![
            abi::LevelSummary {
                tables: vec![table],
            },
            abi::LevelSummary::default(),
        ],
        table_size_target_bytes: 1 << 20,
    };
    abi::encode_summary(&summary, &mut out);
    save("plugin_input", "summary", &with_selector(1, &out))?;
    Ok(())
}
