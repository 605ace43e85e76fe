"""``dougdb.testing.analysis``: outcome counts, lost and resurrected writes against the
final state, and eventual reads of values never written. Each check is shown both
catching its anomaly and leaving the legitimate look-alikes alone."""

from __future__ import annotations

from typing import Optional, Tuple

from dougdb.testing import Op
from dougdb.testing.analysis import (
    count_outcomes,
    eventual_read_violations,
    lost_writes,
    resurrected_writes,
)


def call(kind: str, key: bytes, span: Tuple[int, Optional[int]], **kw: object) -> Op:
    """An ``ok`` call over ``span``; pass ``status=`` for another outcome."""
    kw.setdefault("status", "ok")
    return Op(process=0, kind=kind, key=key, invoke=span[0], complete=span[1], **kw)  # type: ignore[arg-type]


def test_count_outcomes_counts_every_status() -> None:
    history = [
        call("put", b"k", (0, 1), value=b"1"),
        call("get", b"k", (0, 1), result=b"1"),
        call("put", b"k", (0, 1), value=b"2", status="fail"),
        call("put", b"k", (0, None), value=b"3", status="info"),
    ]
    assert count_outcomes(history) == {"ok": 2, "fail": 1, "info": 1}
    assert count_outcomes([]) == {"ok": 0, "fail": 0, "info": 0}


def test_a_write_overwritten_by_an_older_value_is_lost() -> None:
    old = call("put", b"k", (0, 1), value=b"old")
    new = call("put", b"k", (2, 3), value=b"new")
    assert lost_writes([old, new], {b"k": b"old"}) == [new]
    assert lost_writes([old, new], {b"k": b"new"}) == []


def test_a_concurrent_write_may_legitimately_win() -> None:
    a = call("put", b"k", (0, 5), value=b"a")
    b = call("put", b"k", (2, 3), value=b"b")
    # a overlaps b, so a may have been applied last: nothing is lost either way.
    assert lost_writes([a, b], {b"k": b"a"}) == []
    assert lost_writes([a, b], {b"k": b"b"}) == []
    # An info write never completed, so it may have landed after anything.
    late = call("put", b"k", (0, None), value=b"late", status="info")
    assert lost_writes([late, b], {b"k": b"late"}) == []


def test_an_absent_key_needs_a_delete_that_may_follow_the_write() -> None:
    w = call("put", b"k", (2, 3), value=b"1")
    early_delete = call("delete", b"k", (0, 1), result=False)
    assert lost_writes([early_delete, w], {}) == [w]
    assert lost_writes([early_delete, w], {b"k": None}) == [w]
    later_delete = call("delete", b"k", (4, 5), result=True)
    assert lost_writes([w, later_delete], {}) == []
    maybe_delete = call("delete", b"k", (0, None), status="info")
    assert lost_writes([maybe_delete, w], {}) == []
    failed_delete = call("delete", b"k", (4, 5), status="fail")
    assert lost_writes([w, failed_delete], {}) == [w]


def test_cas_counts_as_a_write_only_when_it_swapped() -> None:
    base = call("put", b"k", (0, 1), value=b"1")
    swapped = call("cas", b"k", (2, 3), expected=b"1", value=b"2", result=True)
    refused = call("cas", b"k", (2, 3), expected=b"9", value=b"3", result=False)
    assert lost_writes([base, swapped, refused], {b"k": b"1"}) == [swapped]
    assert lost_writes([base, refused], {b"k": b"1"}) == []


def test_unacknowledged_writes_are_never_lost() -> None:
    base = call("put", b"k", (0, 1), value=b"1")
    info = call("put", b"k", (2, None), value=b"2", status="info")
    failed = call("put", b"k", (2, 3), value=b"3", status="fail")
    assert lost_writes([base, info, failed], {b"k": b"1"}) == []


def test_an_add_is_lost_when_its_key_is_missing() -> None:
    a = call("add", b"s/1", (0, 1), value=b"x")
    b = call("add", b"s/2", (0, 1), value=b"x")
    unknown = call("add", b"s/3", (0, None), value=b"x", status="info")
    assert lost_writes([a, b, unknown], {b"s/1": b"x"}) == [b]


def test_lost_writes_are_listed_in_history_order() -> None:
    old = call("put", b"k", (0, 1), value=b"old")
    n1 = call("put", b"k", (2, 3), value=b"n1")
    other = call("put", b"j", (2, 3), value=b"j")
    n2 = call("put", b"k", (4, 5), value=b"n2")
    assert lost_writes([old, n1, other, n2], {b"k": b"old"}) == [n1, other, n2]


def test_a_final_value_that_was_certainly_replaced_is_resurrected() -> None:
    old = call("put", b"k", (0, 1), value=b"old")
    new = call("put", b"k", (2, 3), value=b"new")
    assert resurrected_writes([old, new], {b"k": b"old"}) == [old]
    assert resurrected_writes([old, new], {b"k": b"new"}) == []
    deleted = call("delete", b"k", (2, 3), result=True)
    assert resurrected_writes([old, deleted], {b"k": b"old"}) == [old]


def test_replacements_that_may_not_have_happened_resurrect_nothing() -> None:
    old = call("put", b"k", (0, 1), value=b"old")
    info = call("put", b"k", (2, None), value=b"new", status="info")
    failed = call("delete", b"k", (2, 3), status="fail")
    refused = call("cas", b"k", (2, 3), expected=b"x", value=b"y", result=False)
    assert resurrected_writes([old, info, failed, refused], {b"k": b"old"}) == []
    overlapping = call("put", b"k", (0, 3), value=b"new")
    assert resurrected_writes([old, overlapping], {b"k": b"old"}) == []
    unknown_old = call("put", b"k", (0, None), value=b"old", status="info")
    done = call("put", b"k", (2, 3), value=b"new")
    assert resurrected_writes([unknown_old, done], {b"k": b"old"}) == []


def test_a_final_value_never_written_is_reported_as_a_synthetic_read() -> None:
    w = call("put", b"k", (0, 1), value=b"1")
    failed = call("put", b"k", (2, 3), value=b"2", status="fail")
    found = resurrected_writes([w, failed], {b"k": b"2", b"j": None})
    assert len(found) == 1
    (read,) = found
    assert (read.kind, read.key, read.result, read.process) == ("get", b"k", b"2", -1)
    assert read.error is not None and "never written" in read.error


def test_eventual_reads_may_be_stale_but_not_invented() -> None:
    w1 = call("put", b"k", (0, 1), value=b"1")
    w2 = call("put", b"k", (2, 3), value=b"2")
    stale = call("get", b"k", (4, 5), result=b"1", consistency="eventual")
    absent = call("get", b"k", (4, 5), result=None, consistency="eventual")
    early = call("get", b"k", (0, 2), result=b"2", consistency="eventual")  # w2 invoked at 2
    invented = call("get", b"k", (4, 5), result=b"9", consistency="eventual")
    future = call("get", b"k", (0, 1), result=b"2", consistency="eventual")
    strong = call("get", b"k", (4, 5), result=b"9")  # the linearizability check's business
    history = [w1, w2, stale, absent, early, invented, future, strong]
    assert eventual_read_violations(history) == [invented, future]


def test_eventual_reads_of_failed_or_refused_writes_are_violations() -> None:
    failed = call("put", b"k", (0, 1), value=b"f", status="fail")
    refused = call("cas", b"k", (0, 1), expected=b"x", value=b"c", result=False)
    maybe = call("cas", b"k", (0, None), expected=b"x", value=b"m", status="info")
    added = call("add", b"k", (0, 1), value=b"a")
    reads = [
        call("get", b"k", (2, 3), result=v, consistency="eventual")
        for v in (b"f", b"c", b"m", b"a")
    ]
    assert eventual_read_violations([failed, refused, maybe, added, *reads]) == reads[:2]
