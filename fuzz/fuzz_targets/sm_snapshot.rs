//! Fuzz target: the state-machine snapshot format (`dougdb-server`'s
//! `state_machine/snapshot.rs`: the `data` of a Raft snapshot, received from the leader).
//!
//! The first byte picks the mode:
//! - even: the rest as a snapshot. Decoding gives a view or `Corruption`, never a panic;
//!   a decoded snapshot re-encodes (with `SnapshotWriter`) to exactly the input.
//! - odd: the rest describes a snapshot (index, sessions with outcomes, tables with names
//!   and bytes), written with `SnapshotWriter`. It must decode to what was written, and
//!   then, as the format promises ("a flipped bit or a cut anywhere is an error, never a
//!   wrong state"), the same bytes with one bit flipped, or cut short, must not decode.
//!   This mode gets past the CRCs that random bytes almost never satisfy.
#![no_main]

use dougdb_fuzz::state_machine::outcome::Outcome;
use dougdb_fuzz::state_machine::sessions::Session;
use dougdb_fuzz::state_machine::snapshot::{self, SnapshotView, SnapshotWriter};
use libfuzzer_sys::fuzz_target;

/// Writes a snapshot of `view` exactly as a node does.
fn write(view: &SnapshotView<'_>) -> Vec<u8> {
    let sessions: Vec<(u64, &Session)> = view.sessions.iter().map(|(id, s)| (*id, s)).collect();
    let size: usize = view.tables.iter().map(|t| t.bytes.len()).sum();
    let count = u32::try_from(view.tables.len()).unwrap_or(u32::MAX);
    let mut w = SnapshotWriter::new(view.applied_index, view.last_seq, &sessions, count, size);
    for t in &view.tables {
        w.add_table(t.level, &t.name, |out| {
            out.extend_from_slice(t.bytes);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("writing table {}: {e:?}", t.name));
    }
    w.finish()
}

/// A bounds-checked reader of the fuzz input that runs dry into zeros.
struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        head
    }
    fn u8(&mut self) -> u8 {
        self.take(1).first().copied().unwrap_or(0)
    }
    fn u64(&mut self) -> u64 {
        let mut a = [0u8; 8];
        let b = self.take(8);
        a[..b.len()].copy_from_slice(b);
        u64::from_le_bytes(a)
    }
    fn bytes(&mut self) -> &'a [u8] {
        let n = usize::from(self.u8());
        self.take(n)
    }
}

/// Builds a snapshot description from the input; `None` when an outcome does not decode.
fn describe<'a>(input: &mut Input<'a>) -> Option<SnapshotView<'a>> {
    let applied_index = input.u64();
    let last_seq = input.u64();
    let mut sessions = Vec::new();
    let mut id = 0u64;
    for _ in 0..input.u8() % 4 {
        // Strictly ascending ids, as the writer requires.
        id = id.checked_add(1 + u64::from(input.u8()))?;
        let sequence = input.u64();
        let index = input.u64();
        let outcome = Outcome::decode(input.bytes()).ok()?;
        sessions.push((
            id,
            Session {
                sequence,
                index,
                outcome,
            },
        ));
    }
    let mut tables = Vec::new();
    for _ in 0..input.u8() % 4 {
        let level = u32::from(input.u8());
        let name = String::from_utf8_lossy(input.bytes()).into_owned();
        let bytes = input.bytes();
        tables.push(snapshot::SnapshotTable { level, name, bytes });
    }
    Some(SnapshotView {
        applied_index,
        last_seq,
        sessions,
        tables,
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        let Ok(view) = snapshot::decode(rest) else {
            return;
        };
        assert_eq!(
            write(&view),
            rest,
            "{view:?} does not re-encode to its bytes"
        );
        return;
    }
    let mut input = Input(rest);
    let Some(view) = describe(&mut input) else {
        return;
    };
    let bytes = write(&view);
    let decoded = snapshot::decode(&bytes)
        .unwrap_or_else(|e| panic!("a written snapshot does not decode: {e:?}"));
    assert_eq!(decoded, view);
    let bit = usize::try_from(input.u64()).unwrap_or(0) % (bytes.len() * 8);
    let mut flipped = bytes.clone();
    flipped[bit / 8] ^= 1 << (bit % 8);
    assert!(
        snapshot::decode(&flipped).is_err(),
        "bit {bit} flipped went unnoticed"
    );
    let cut = usize::try_from(input.u64()).unwrap_or(0) % bytes.len();
    assert!(
        snapshot::decode(&bytes[..cut]).is_err(),
        "cut at {cut} went unnoticed"
    );
});
