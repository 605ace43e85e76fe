//! Payload codec of the records a Raft log keeps in its WAL (the WAL frame already
//! carries length, position and CRC32; see docs/wal.md). All integers little-endian.
//!
//! ```text
//! Entry      (18 + n bytes): tag u8 = 1 | term u64 | index u64 | kind u8 | data (n bytes)
//!                            kind: 1 = Normal, 2 = ConfChange, 3 = Noop
//! HardState  (25 bytes):     tag u8 = 2 | term u64 | vote u64 (0 = none) | commit u64
//! ```
//!
//! The decoder is total: any byte string gives a record or a `&'static str` reason.

use dougdb_raft::{Entry, EntryKind, HardState, LogIndex, NodeId, Term};

const TAG_ENTRY: u8 = 1;
const TAG_HARD_STATE: u8 = 2;
/// Bytes of an entry record before its data.
pub const ENTRY_HEADER_LEN: usize = 18;
const HARD_STATE_LEN: usize = 25;

/// One decoded WAL record of a Raft log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogRecord {
    /// A log entry.
    Entry(Entry),
    /// A hard state; the last one in the log wins.
    HardState(HardState),
}

fn kind_byte(kind: EntryKind) -> u8 {
    match kind {
        EntryKind::Normal => 1,
        EntryKind::ConfChange => 2,
        EntryKind::Noop => 3,
    }
}

/// Encodes an entry record into `out` (cleared first).
pub fn encode_entry(e: &Entry, out: &mut Vec<u8>) {
    out.clear();
    out.reserve(ENTRY_HEADER_LEN + e.data.len());
    out.push(TAG_ENTRY);
    out.extend_from_slice(&e.term.0.to_le_bytes());
    out.extend_from_slice(&e.index.0.to_le_bytes());
    out.push(kind_byte(e.kind));
    out.extend_from_slice(&e.data);
}

/// Encodes a hard-state record.
pub fn encode_hard_state(hs: &HardState) -> Vec<u8> {
    let mut out = Vec::with_capacity(HARD_STATE_LEN);
    out.push(TAG_HARD_STATE);
    out.extend_from_slice(&hs.term.0.to_le_bytes());
    out.extend_from_slice(&hs.vote.map_or(0, |n| n.0).to_le_bytes());
    out.extend_from_slice(&hs.commit.0.to_le_bytes());
    out
}

fn u64_at(buf: &[u8], at: usize) -> Result<u64, &'static str> {
    let bytes = buf.get(at..at + 8).ok_or("record too short")?;
    let mut a = [0u8; 8];
    a.copy_from_slice(bytes);
    Ok(u64::from_le_bytes(a))
}

/// Decodes one record.
pub fn decode(buf: &[u8]) -> Result<LogRecord, &'static str> {
    match buf.first() {
        Some(&TAG_ENTRY) => {
            let term = Term(u64_at(buf, 1)?);
            let index = LogIndex(u64_at(buf, 9)?);
            let kind = match buf.get(17) {
                Some(1) => EntryKind::Normal,
                Some(2) => EntryKind::ConfChange,
                Some(3) => EntryKind::Noop,
                Some(_) => return Err("unknown entry kind"),
                None => return Err("record too short"),
            };
            if index.0 == 0 {
                return Err("entry index 0");
            }
            let data = buf.get(ENTRY_HEADER_LEN..).unwrap_or_default().to_vec();
            Ok(LogRecord::Entry(Entry {
                term,
                index,
                kind,
                data,
            }))
        }
        Some(&TAG_HARD_STATE) => {
            if buf.len() != HARD_STATE_LEN {
                return Err("hard state record of the wrong length");
            }
            let vote = u64_at(buf, 9)?;
            Ok(LogRecord::HardState(HardState {
                term: Term(u64_at(buf, 1)?),
                vote: (vote != 0).then_some(NodeId(vote)),
                commit: LogIndex(u64_at(buf, 17)?),
            }))
        }
        Some(_) => Err("unknown record tag"),
        None => Err("empty record"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kind(k: u8) -> EntryKind {
        match k % 3 {
            0 => EntryKind::Normal,
            1 => EntryKind::ConfChange,
            _ => EntryKind::Noop,
        }
    }

    proptest! {
        #[test]
        fn entries_round_trip(term: u64, index in 1u64.., k: u8, data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let e = Entry { term: Term(term), index: LogIndex(index), kind: kind(k), data };
            let mut buf = Vec::new();
            encode_entry(&e, &mut buf);
            prop_assert_eq!(decode(&buf), Ok(LogRecord::Entry(e)));
        }

        #[test]
        fn hard_states_round_trip(term: u64, vote: u64, commit: u64) {
            let hs = HardState { term: Term(term), vote: (vote != 0).then_some(NodeId(vote)), commit: LogIndex(commit) };
            prop_assert_eq!(decode(&encode_hard_state(&hs)), Ok(LogRecord::HardState(hs)));
        }

        #[test]
        fn arbitrary_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode(&buf);
        }
    }

    #[test]
    fn truncated_records_are_errors() {
        let mut buf = Vec::new();
        encode_entry(
            &Entry {
                term: Term(1),
                index: LogIndex(1),
                kind: EntryKind::Normal,
                data: vec![],
            },
            &mut buf,
        );
        for cut in 0..buf.len() {
            assert!(decode(&buf[..cut]).is_err(), "cut at {cut}");
        }
        let hs = encode_hard_state(&HardState::default());
        for cut in 0..hs.len() {
            assert!(decode(&hs[..cut]).is_err(), "cut at {cut}");
        }
    }
}
