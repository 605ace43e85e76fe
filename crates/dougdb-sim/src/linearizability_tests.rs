//! The simulator's adapter to `dougdb-check`: its records reach the checker with the
//! right meaning (absent values, pending calls, keys) and the verdict comes back as
//! records. The checker's own cases (stale reads, lost writes, double cas, budgets,
//! minimal witnesses) are tested in `crates/dougdb-check`.

use crate::history::{History, OpId, Outcome};
use crate::kv::{ClientId, Key, KvOp, KvOutput, Value};
use crate::linearizability::{DEFAULT_STEP_BUDGET, Verdict, check_history};

const K: Key = Key(1);

fn put(key: Key, v: u64) -> KvOp {
    KvOp::Put {
        key,
        value: Value(v),
    }
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
    fn read(&mut self, c: u32, key: Key, v: u64) -> OpId {
        let id = self.inv(c, KvOp::Get { key });
        self.ok(id, KvOutput::Get(Value(v)));
        id
    }
    fn write(&mut self, c: u32, key: Key, v: u64) -> OpId {
        let id = self.inv(c, put(key, v));
        self.ok(id, KvOutput::Put);
        id
    }
    fn verdict(&self, budget: u64) -> Verdict {
        check_history(&self.0, budget)
    }
}

#[test]
fn absent_is_the_initial_value_and_what_cas_from_absent_expects() {
    let mut h = H::new();
    h.read(1, K, Value::ABSENT.0);
    let c = h.inv(1, cas(Value::ABSENT.0, 5));
    h.ok(c, KvOutput::Cas(true));
    let c = h.inv(2, cas(Value::ABSENT.0, 6));
    h.ok(c, KvOutput::Cas(false));
    h.read(2, K, 5);
    assert!(matches!(
        h.verdict(DEFAULT_STEP_BUDGET),
        Verdict::Linearizable
    ));
    // Reading absent after an acknowledged write is a lost write.
    h.read(3, K, Value::ABSENT.0);
    assert!(matches!(
        h.verdict(DEFAULT_STEP_BUDGET),
        Verdict::Violation(_)
    ));
}

#[test]
fn pending_and_failed_calls_keep_their_meaning() {
    let mut h = H::new();
    let failed = h.inv(1, put(K, 9));
    h.0.fail(failed, 0);
    let pending = h.inv(2, put(K, 3));
    h.read(1, K, Value::ABSENT.0);
    h.read(1, K, 3);
    assert!(matches!(
        h.verdict(DEFAULT_STEP_BUDGET),
        Verdict::Linearizable
    ));
    h.0.close(0);
    assert_eq!(h.0.ops()[pending.0].outcome, Outcome::Info);
    assert!(matches!(
        h.verdict(DEFAULT_STEP_BUDGET),
        Verdict::Linearizable
    ));
    h.read(1, K, 9);
    assert!(matches!(
        h.verdict(DEFAULT_STEP_BUDGET),
        Verdict::Violation(_)
    ));
}

#[test]
fn a_violation_comes_back_as_the_records_of_its_key() {
    let mut h = H::new();
    let w1 = h.write(1, K, 1);
    h.write(2, Key(2), 2);
    h.read(3, K, 1);
    let w2 = h.write(1, K, 2);
    let stale = h.read(2, K, 1);
    h.read(3, Key(2), 2);
    let Verdict::Violation(w) = h.verdict(DEFAULT_STEP_BUDGET) else {
        panic!("expected a violation");
    };
    assert_eq!(w.key, K);
    let ops = h.0.ops();
    assert_eq!(w.ops, vec![ops[w1.0], ops[w2.0], ops[stale.0]]);
    let text = w.to_string();
    assert!(text.starts_with("key Key(1) is not linearizable"), "{text}");
    assert_eq!(text.lines().count(), 4, "{text}");
}

#[test]
fn an_exhausted_budget_names_the_key() {
    let mut h = H::new();
    let pending: Vec<OpId> = (0..20)
        .map(|c| h.inv(c, put(Key(3), 100 + u64::from(c))))
        .collect();
    for c in 0..20 {
        h.read(100 + c, Key(3), 100 + u64::from(19 - c));
    }
    for p in pending {
        h.0.info(p, 0);
    }
    assert!(matches!(h.verdict(50), Verdict::Unknown { key: Key(3) }));
}
