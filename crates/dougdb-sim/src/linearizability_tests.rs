//! Known-good and known-bad KV histories for the linearizability checker.

use crate::history::{History, OpId, Outcome};
use crate::kv::{ClientId, Key, KvOp, KvOutput, Value};
use crate::linearizability::{DEFAULT_STEP_BUDGET, KeyVerdict, Verdict, check_history, check_key};

const K: Key = Key(1);

fn put(v: u64) -> KvOp {
    KvOp::Put {
        key: K,
        value: Value(v),
    }
}
fn get() -> KvOp {
    KvOp::Get { key: K }
}
fn cas(e: u64, n: u64) -> KvOp {
    KvOp::Cas {
        key: K,
        expected: Value(e),
        new: Value(n),
    }
}

/// A tiny DSL: `inv(c, op)` then `ok(id, out)`, in real-time order.
struct H(History);
impl H {
    fn new() -> H {
        H(History::new())
    }
    fn inv(&mut self, c: u32, op: KvOp) -> OpId {
        self.0.invoke(ClientId(c), op, 0)
    }
    fn ok(&mut self, id: OpId, out: KvOutput) {
        self.0.ok(id, out, 0);
    }
    fn read(&mut self, c: u32, v: u64) {
        let id = self.inv(c, get());
        self.ok(id, KvOutput::Get(Value(v)));
    }
    fn write(&mut self, c: u32, v: u64) {
        let id = self.inv(c, put(v));
        self.ok(id, KvOutput::Put);
    }
    fn verdict(&self) -> Verdict {
        check_history(&self.0, DEFAULT_STEP_BUDGET)
    }
}

fn assert_ok(h: &H) {
    assert!(
        matches!(h.verdict(), Verdict::Linearizable),
        "{:?}",
        h.verdict()
    );
}

fn assert_bad(h: &H, witness_len: usize) {
    match h.verdict() {
        Verdict::Violation(w) => {
            assert_eq!(w.key, K);
            assert_eq!(w.ops.len(), witness_len, "witness: {w}");
        }
        v => panic!("expected a violation, got {v:?}"),
    }
}

#[test]
fn sequential_and_concurrent_good_histories() {
    let mut h = H::new();
    h.read(1, 0);
    h.write(1, 10);
    h.read(2, 10);
    let c = h.inv(1, cas(10, 11));
    h.ok(c, KvOutput::Cas(true));
    let c = h.inv(2, cas(10, 12));
    h.ok(c, KvOutput::Cas(false));
    // A write concurrent with two reads: one sees the old value, the next the new one.
    let w = h.inv(1, put(20));
    h.read(2, 11);
    h.read(3, 20);
    h.ok(w, KvOutput::Put);
    h.read(2, 20);
    assert_ok(&h);
}

#[test]
fn unknown_writes_may_or_may_not_have_happened() {
    let mut h = H::new();
    h.write(1, 1);
    let lost = h.inv(2, put(2));
    h.0.info(lost, 0);
    let seen = h.inv(3, put(3));
    h.0.info(seen, 0);
    h.read(1, 1);
    h.read(1, 3);
    h.read(2, 3);
    let pending_cas = h.inv(4, cas(3, 4));
    let _ = pending_cas;
    h.read(1, 4);
    h.0.close(0);
    assert_ok(&h);
    assert_eq!(h.0.ops()[pending_cas.0].outcome, Outcome::Info);
}

#[test]
fn failed_operations_are_ignored() {
    let mut h = H::new();
    let f = h.inv(1, put(5));
    h.0.fail(f, 0);
    h.read(2, 0);
    assert_ok(&h);
}

#[test]
fn stale_read_is_caught() {
    let mut h = H::new();
    h.write(1, 1);
    h.read(3, 1); // noise that the witness should drop
    h.write(1, 2);
    h.read(2, 1);
    assert_bad(&h, 3);
}

#[test]
fn lost_acknowledged_write_is_caught() {
    let mut h = H::new();
    h.read(2, 0);
    h.write(1, 7);
    h.read(2, 0);
    assert_bad(&h, 2);
}

#[test]
fn double_applied_cas_is_caught() {
    let mut h = H::new();
    h.write(1, 1);
    let a = h.inv(2, cas(1, 2));
    let b = h.inv(3, cas(1, 3));
    h.ok(a, KvOutput::Cas(true));
    h.ok(b, KvOutput::Cas(true));
    assert_bad(&h, 3);
}

#[test]
fn cas_reported_failed_but_applied_is_caught() {
    // The cas may legitimately fail (the concurrent put can go first), but then 9 must
    // never be read.
    let mut h = H::new();
    h.write(1, 1);
    let a = h.inv(2, cas(1, 9));
    let w = h.inv(3, put(2));
    h.ok(a, KvOutput::Cas(false));
    h.ok(w, KvOutput::Put);
    h.read(1, 9);
    assert_bad(&h, 2);
}

#[test]
fn read_of_a_value_never_written_is_caught() {
    let mut h = H::new();
    h.write(1, 1);
    h.read(1, 42);
    assert_bad(&h, 1);
}

#[test]
fn keys_are_checked_independently() {
    let mut h = H::new();
    h.write(1, 1);
    let other = h.inv(
        2,
        KvOp::Put {
            key: Key(2),
            value: Value(2),
        },
    );
    h.ok(other, KvOutput::Put);
    let r = h.inv(3, KvOp::Get { key: Key(2) });
    h.ok(r, KvOutput::Get(Value(2)));
    h.read(3, 1);
    assert_ok(&h);
}

#[test]
fn exhausted_budget_says_unknown_instead_of_hanging() {
    // Many concurrent unknown writes and reads that exclude each other: a big search.
    let mut h = H::new();
    let mut pending = Vec::new();
    for c in 0..20 {
        pending.push(h.inv(c, put(100 + u64::from(c))));
    }
    for c in 0..20 {
        h.read(100 + c, 100 + u64::from(19 - c));
    }
    for p in pending {
        h.0.info(p, 0);
    }
    assert_eq!(check_key(h.0.ops(), 50), KeyVerdict::Unknown);
}

#[test]
fn large_concurrent_history_is_checked_quickly() {
    let mut h = H::new();
    for (v, round) in (1..).zip(0..200u32) {
        let w = h.inv(round % 5, put(v));
        let r = h.inv(5 + round % 3, get());
        h.ok(w, KvOutput::Put);
        h.ok(r, KvOutput::Get(Value(v)));
    }
    assert_ok(&h);
}
