//! Known-good and known-bad histories, each with the verdict and witness it must get.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns: a malformed test history should panic

mod common;

use common::*;
use dougdb_check::{CheckError, DEFAULT_STEP_BUDGET, Verdict, check};

fn verdict(ops: &[Op]) -> Verdict<u8> {
    check(ops, DEFAULT_STEP_BUDGET).unwrap().verdict
}

/// Asserts a violation on `key` whose witness is exactly `expected` (input indices).
fn assert_witness(ops: &[Op], key: u8, expected: &[usize]) {
    match verdict(ops) {
        Verdict::Violation {
            key: k,
            witness,
            minimal,
        } => {
            assert_eq!(k, key);
            assert!(minimal);
            assert_eq!(witness, expected);
            assert_minimal_witness(ops, key, &witness);
        }
        v => panic!("expected a violation, got {v:?}"),
    }
}

#[test]
fn sequential_and_concurrent_good_histories() {
    let ops = vec![
        get(1, None, (0, 1)),
        put(1, 10, (2, 3)),
        get(1, Some(10), (4, 5)),
        cas(1, Some(10), 11, true, (6, 7)),
        cas(1, Some(10), 12, false, (8, 9)),
        // A write overlapping two reads: the first sees the old value, the second the new.
        put(1, 20, (10, 20)),
        get(1, Some(11), (11, 12)),
        get(1, Some(20), (13, 14)),
        get(1, Some(20), (21, 22)),
        del(1, true, (23, 24)),
        del(1, false, (25, 26)),
        cas(1, None, 30, true, (27, 28)),
        get(1, Some(30), (29, 30)),
    ];
    assert_eq!(verdict(&ops), Verdict::Linearizable);
}

#[test]
fn info_writes_may_take_effect_late_or_never_and_fails_never() {
    let ops = vec![
        put(1, 1, (0, 1)),
        info(put(1, 2, (2, 3))),
        info(put(1, 3, (2, 3))),
        fail(put(1, 4, (2, 3))),
        get(1, Some(1), (4, 5)),
        get(1, Some(3), (6, 7)),
        info(cas(1, Some(3), 5, true, (8, 9))),
        info(get(1, Some(99), (8, 9))),
        get(1, Some(5), (100, 101)),
    ];
    assert_eq!(verdict(&ops), Verdict::Linearizable);
    let mut failed_seen = ops.clone();
    failed_seen.push(get(1, Some(4), (102, 103)));
    assert_witness(&failed_seen, 1, &[9]);
}

#[test]
fn stale_read_is_caught() {
    let ops = vec![
        put(1, 1, (0, 1)),
        get(1, Some(1), (2, 3)),
        put(1, 2, (4, 5)),
        get(1, Some(1), (6, 7)),
    ];
    assert_witness(&ops, 1, &[0, 2, 3]);
}

#[test]
fn lost_acknowledged_write_is_caught() {
    let ops = vec![
        get(1, None, (0, 1)),
        put(1, 7, (2, 3)),
        get(1, None, (4, 5)),
    ];
    assert_witness(&ops, 1, &[1, 2]);
}

#[test]
fn double_applied_cas_is_caught() {
    let ops = vec![
        put(1, 1, (0, 1)),
        cas(1, Some(1), 2, true, (2, 10)),
        cas(1, Some(1), 3, true, (3, 11)),
    ];
    assert_witness(&ops, 1, &[0, 1, 2]);
}

#[test]
fn read_of_a_value_never_written_is_caught() {
    let ops = vec![put(1, 1, (0, 1)), get(1, Some(42), (2, 3))];
    assert_witness(&ops, 1, &[1]);
}

#[test]
fn read_after_delete_and_wrong_existed_are_caught() {
    let resurrected = vec![
        put(1, 1, (0, 1)),
        del(1, true, (2, 3)),
        get(1, Some(1), (4, 5)),
    ];
    assert_witness(&resurrected, 1, &[0, 1, 2]);
    let phantom = vec![get(1, None, (0, 1)), del(1, true, (2, 3))];
    assert_witness(&phantom, 1, &[1]);
}

#[test]
fn cas_reported_failed_but_applied_is_caught() {
    // A cas that did not swap wrote nothing, so its value read later was never written.
    let ops = vec![
        put(1, 1, (0, 1)),
        cas(1, Some(1), 9, false, (2, 5)),
        put(1, 2, (3, 6)),
        get(1, Some(9), (7, 8)),
    ];
    assert_witness(&ops, 1, &[3]);
}

#[test]
fn keys_are_checked_independently_and_the_bad_key_is_named() {
    let ops = vec![
        put(1, 1, (0, 1)),
        put(2, 2, (0, 1)),
        get(2, Some(2), (2, 3)),
        get(1, Some(1), (2, 3)),
    ];
    assert_eq!(verdict(&ops), Verdict::Linearizable);
    let mut bad = ops.clone();
    bad.push(get(2, None, (4, 5)));
    assert_witness(&bad, 2, &[1, 4]);
}

#[test]
fn exhausted_budget_says_unknown_and_a_violation_elsewhere_still_wins() {
    // Many concurrent unknown writes, and reads that exclude each other: a big search.
    let mut ops: Vec<Op> = (0..20).map(|v| info(put(1, 100 + v, (0, 1)))).collect();
    ops.extend((0..20).map(|v| {
        get(
            1,
            Some(100 + 19 - v),
            (2 + 2 * u64::from(v), 3 + 2 * u64::from(v)),
        )
    }));
    let report = check(&ops, 50).unwrap();
    assert_eq!(report.verdict, Verdict::Unknown { key: 1 });
    assert_eq!(report.steps, 50);
    ops.push(get(2, Some(1), (0, 1)));
    match check(&ops, 50).unwrap().verdict {
        Verdict::Violation { key, .. } => assert_eq!(key, 2),
        v => panic!("{v:?}"),
    }
}

#[test]
fn large_concurrent_history_is_checked_quickly() {
    let mut ops = Vec::new();
    for v in 0..2000u32 {
        let t = 10 * u64::from(v);
        ops.push(put(1, v + 1, (t, t + 6)));
        ops.push(get(1, Some(v + 1), (t + 2, t + 8)));
        ops.push(info(put(1, 100_000 + v, (t + 1, 0))));
    }
    let report = check(&ops, DEFAULT_STEP_BUDGET).unwrap();
    assert_eq!(report.verdict, Verdict::Linearizable, "{report:?}");
}

#[test]
fn malformed_history_is_an_error_naming_the_operation() {
    let mut bad = put(1, 1, (5, 4));
    assert_eq!(
        check(&[put(1, 0, (0, 1)), bad.clone()], 10),
        Err(CheckError::CompletedBeforeInvoked {
            index: 1,
            invoke: 5,
            complete: 4
        })
    );
    bad.complete = None;
    let err = check(&[bad], 10).unwrap_err();
    assert!(
        err.to_string()
            .contains("operation 0 is ok but has no completion")
    );
}
