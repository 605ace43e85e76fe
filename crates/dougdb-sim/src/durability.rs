//! End-of-run checks on the client history against the final KV state: every
//! acknowledged write survives unless some other write could have come after it, and the
//! final state is appended to the history as reads after everything (so the
//! linearizability check also covers it).

use crate::history::{History, OpRecord, Outcome};
use crate::kv::{ClientId, Key, KvOp, KvOutput, KvStore, Value};

/// The client id of the synthetic final reads.
pub const FINAL_READER: ClientId = ClientId(u32::MAX - 1);

fn written(r: &OpRecord) -> Option<Value> {
    match (r.op, r.outcome) {
        (KvOp::Put { value, .. }, Outcome::Ok(_) | Outcome::Info | Outcome::Pending) => Some(value),
        (
            KvOp::Cas { new, .. },
            Outcome::Ok(KvOutput::Cas(true)) | Outcome::Info | Outcome::Pending,
        ) => Some(new),
        _ => None,
    }
}

fn acknowledged(r: &OpRecord) -> bool {
    matches!(
        (r.op, r.outcome),
        (KvOp::Put { .. }, Outcome::Ok(_)) | (KvOp::Cas { .. }, Outcome::Ok(KvOutput::Cas(true)))
    )
}

/// Checks that every acknowledged write is in `final_kv` unless overwritten by a write
/// that was not over before it started. Returns the first lost write found.
pub fn check_acknowledged_writes(history: &History, final_kv: &KvStore) -> Result<(), String> {
    let ops = history.ops();
    for w in ops.iter().filter(|r| acknowledged(r)) {
        let key = w.op.key();
        let Some(v) = written(w) else { continue };
        if final_kv.get(key) == v {
            continue;
        }
        let overwritten = ops.iter().any(|o| {
            !std::ptr::eq(o, w)
                && o.op.key() == key
                && written(o).is_some()
                && o.complete.is_none_or(|end| end >= w.invoke)
        });
        if !overwritten {
            return Err(format!(
                "acknowledged write lost: {w}; final value of {key:?} is {:?} and no later write explains it",
                final_kv.get(key)
            ));
        }
    }
    Ok(())
}

/// Appends one completed read per key (`0..keys`) returning `final_kv`'s value, after every
/// other event of the history.
pub fn append_final_reads(history: &mut History, final_kv: &KvStore, keys: u8, tick: u64) {
    for k in 0..keys {
        let key = Key(k);
        let id = history.invoke(FINAL_READER, KvOp::Get { key }, tick);
        history.ok(id, KvOutput::Get(final_kv.get(key)), tick);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(h: &mut History, c: u32, v: u64) -> crate::history::OpId {
        h.invoke(
            ClientId(c),
            KvOp::Put {
                key: Key(0),
                value: Value(v),
            },
            0,
        )
    }

    #[test]
    fn lost_write_is_reported_and_overwritten_write_is_not() {
        let mut h = History::new();
        let a = put(&mut h, 1, 1);
        h.ok(a, KvOutput::Put, 1);
        let mut kv = KvStore::default();
        assert!(check_acknowledged_writes(&h, &kv).is_err());
        kv.apply(&KvOp::Put {
            key: Key(0),
            value: Value(1),
        });
        assert!(check_acknowledged_writes(&h, &kv).is_ok());
        // A later write (even of unknown fate) explains a different final value.
        let b = put(&mut h, 2, 2);
        h.info(b, 2);
        let mut kv2 = KvStore::default();
        kv2.apply(&KvOp::Put {
            key: Key(0),
            value: Value(2),
        });
        assert!(check_acknowledged_writes(&h, &kv2).is_ok());
        append_final_reads(&mut h, &kv2, 1, 3);
        assert_eq!(h.ops().len(), 3);
    }
}
