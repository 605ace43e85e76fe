"""The linearizability checker (``dougdb.testing.checker.check``, native) agrees with the
brute-force reference (``dougdb.testing._reference``) on thousands of generated histories:
executions of an atomic register with overlapping calls, and the same executions with a
known bug injected (stale read, lost write, double-applied cas). Its witnesses are on the
right key, not linearizable themselves, and 1-minimal. Replay a run with
``DOUGDB_TEST_SEED=<seed>``."""

from __future__ import annotations

import random
import threading
import time
from typing import Dict, List, Optional, Sequence, Tuple

import pytest

from dougdb.errors import InvalidArgumentError
from dougdb.testing import Op
from dougdb.testing import _reference as ref
from dougdb.testing.checker import check

KEYS = (b"a", b"b", b"c")
MUTATIONS = ("stale read", "lost write", "double cas")


def _ok(kind: str, key: bytes, span: Tuple[int, int], **kw: object) -> Op:
    return Op(process=0, kind=kind, key=key, status="ok", invoke=span[0], complete=span[1], **kw)  # type: ignore[arg-type]


def execute(rng: random.Random, n_ops: int, mutation: Optional[str] = None) -> List[Op]:
    """A history of ``n_ops`` calls by 3 concurrent processes on up to 3 keys (at most 8
    calls per key), whose results come from an atomic register applied at a random
    instant within each call; ``info`` calls take effect (late) or not, ``fail`` calls
    never. ``mutation`` injects a bug into one call where possible."""
    clock = [0, 0, 0]
    pid = [0, 1, 2]
    next_pid = 3
    per_key: Dict[bytes, int] = {}
    written: Dict[bytes, List[bytes]] = {}
    calls: List[Tuple[int, Op]] = []  # (instant it takes effect, op)
    for n in range(n_ops):
        keys = [k for k in KEYS if per_key.get(k, 0) < 8]
        if not keys:
            break
        key = rng.choice(keys)
        per_key[key] = per_key.get(key, 0) + 1
        p = rng.randrange(3)
        invoke = clock[p] + rng.randint(0, 3)
        duration = rng.randint(0, 6)
        kind = rng.choices(["get", "put", "cas", "delete"], weights=[4, 3, 3, 1])[0]
        value = expected = None
        if kind in ("put", "cas"):
            value = b"%s%d" % (key, n)
        if kind == "cas":
            expected = rng.choice([None] + written.get(key, [])[-2:])
        status = rng.choices(["ok", "info", "fail"], weights=[8, 1, 1])[0]
        op = Op(
            process=pid[p],
            kind=kind,
            key=key,
            value=value,
            expected=expected,
            status=status,
            invoke=invoke,
        )  # type: ignore[arg-type]
        if value is not None:
            written.setdefault(key, []).append(value)
        if status == "info":
            pid[p], next_pid = next_pid, next_pid + 1
            at = invoke + rng.randint(0, duration + 10)
            clock[p] = invoke + duration + 1
            calls.append((at if rng.random() < 0.5 else -1, op))
        else:
            op.complete = invoke + duration
            clock[p] = op.complete + 1
            at = invoke + rng.randint(0, duration)
            calls.append((at if status == "ok" else -1, op))
    target = _pick_target(rng, [op for _, op in calls], mutation)
    state: Dict[bytes, Optional[bytes]] = {}
    for _at, op in sorted((c for c in calls if c[0] >= 0), key=lambda c: c[0]):
        assert op.key is not None
        now = state.get(op.key)
        if op.kind == "get":
            op.result = now
        elif op.kind == "put":
            if op is not target:  # a lost write: acknowledged, never applied
                state[op.key] = op.value
        elif op.kind == "delete":
            op.result = now is not None
            state[op.key] = None
        else:
            swapped = now == op.expected or op is target  # applied although it should not
            op.result = swapped
            if swapped:
                state[op.key] = op.value
    if mutation == "stale read" and target is not None:
        older = [v for v in [None] + written.get(target.key or b"", []) if v != target.result]
        if older:
            target.result = rng.choice(older)
    for _, op in calls:
        if op.status != "ok":
            op.result = None
    return sorted((op for _, op in calls), key=lambda op: op.invoke)


def _pick_target(rng: random.Random, ops: List[Op], mutation: Optional[str]) -> Optional[Op]:
    kind = {"stale read": "get", "lost write": "put", "double cas": "cas"}.get(mutation or "")
    candidates = [op for op in ops if op.kind == kind and op.status == "ok"]
    return rng.choice(candidates) if candidates else None


def _writes(op: Op) -> bool:
    if op.kind == "put":
        return op.status != "fail"
    return op.kind == "cas" and (op.status == "info" or (op.status == "ok" and op.result is True))


def _observed(op: Op) -> Optional[object]:
    """The value ``op`` observed that only a write explains (``...``: any value)."""
    if op.status != "ok":
        return None
    if op.kind == "get" and op.result is not None:
        return op.result
    if op.kind == "cas" and op.result is True and op.expected is not None:
        return op.expected
    if (op.kind == "cas" and op.result is False and op.expected is None) or (
        op.kind == "delete" and op.result is True
    ):
        return ...
    return None


def _self_explaining(full: Sequence[Op], subset: Sequence[Op]) -> bool:
    def explained(ops: Sequence[Op], v: object) -> bool:
        return any(_writes(w) and (v is ... or w.value == v) for w in ops)

    return all(
        v is None or not explained(full, v) or explained(subset, v) for v in map(_observed, subset)
    )


def assert_minimal_witness(history: Sequence[Op], key: bytes, witness: Sequence[Op]) -> None:
    full = ref.by_key(history)[key]
    assert witness and all(op.key == key for op in witness)
    assert all(any(op is f for f in full) for op in witness)
    assert not ref.key_is_linearizable(witness), "the witness is linearizable"
    assert _self_explaining(full, witness)
    for i in range(len(witness)):
        rest = list(witness[:i]) + list(witness[i + 1 :])
        assert ref.key_is_linearizable(rest) or not _self_explaining(full, rest), (
            f"not minimal: {witness[i].describe()} can go"
        )


def assert_agrees(history: List[Op]) -> str:
    bad = ref.bad_keys(history)
    verdict = check(history)
    if not bad:
        assert verdict.result == "linearizable", verdict.explain()
    else:
        assert verdict.result == "violation", f"reference: {bad} not linearizable"
        assert verdict.key == bad[0]
        assert_minimal_witness(history, bad[0], verdict.witness)
    return verdict.result


def test_agrees_with_the_reference_on_generated_histories(seed: int) -> None:
    rng = random.Random(seed)
    started = time.monotonic()
    results: Dict[str, Dict[str, int]] = {}
    for i in range(8000):
        mutation = None if i % 2 == 0 else MUTATIONS[(i // 2) % 3]
        history = execute(rng, rng.randint(1, 24), mutation)
        try:
            result = assert_agrees(history)
        except AssertionError:
            print(f"history {i} ({mutation or 'valid'}):")
            print("\n".join(op.describe() for op in history))
            raise
        if mutation is None:
            assert result == "linearizable", "an atomic register's history failed"
        tally = results.setdefault(mutation or "valid", {})
        tally[result] = tally.get(result, 0) + 1
    print(results, f"{time.monotonic() - started:.1f} s")
    # The mutations must really produce violations, or this test shows nothing.
    for mutation in MUTATIONS:
        assert results[mutation].get("violation", 0) > 250, results


def test_known_bad_histories_and_their_witnesses() -> None:
    w1 = _ok("put", b"k", (0, 1), value=b"1")
    noise = _ok("get", b"k", (2, 3), result=b"1")
    w2 = _ok("put", b"k", (4, 5), value=b"2")
    stale = _ok("get", b"k", (6, 7), result=b"1")
    verdict = check([w1, noise, w2, stale])
    assert verdict.result == "violation" and verdict.key == b"k"
    assert verdict.witness == [w1, w2, stale]
    assert "minimal witness" in verdict.explain() and not verdict

    lost = _ok("put", b"k", (2, 3), value=b"7")
    verdict = check([_ok("get", b"k", (0, 1)), lost, after := _ok("get", b"k", (4, 5))])
    assert verdict.witness == [lost, after]

    base = _ok("put", b"k", (0, 1), value=b"1")
    c1 = _ok("cas", b"k", (2, 10), expected=b"1", value=b"2", result=True)
    c2 = _ok("cas", b"k", (3, 11), expected=b"1", value=b"3", result=True)
    assert check([base, c1, c2]).witness == [base, c1, c2]


def test_only_strong_single_key_calls_are_checked() -> None:
    w = _ok("put", b"k", (0, 1), value=b"1")
    history = [
        w,
        _ok("get", b"k", (2, 3), result=None, consistency="eventual"),  # stale: allowed
        _ok("add", b"s1", (0, 1), value=b"x"),
        Op(process=1, kind="scan", key=None, status="ok", result=[], invoke=0, complete=9),
        _ok("get", b"k", (4, 5), result=b"1"),
    ]
    assert check(history).result == "linearizable"
    history.append(_ok("get", b"k", (6, 7), result=None))
    assert check(history).result == "violation"


def _hard_history(n: int) -> List[Op]:
    """``n`` concurrent unknown writes, then reads that see them in an order no single
    linearization allows: the search must try very many orders."""
    writes = [
        Op(process=i, kind="put", key=b"h", value=b"%d" % i, status="info", invoke=0)
        for i in range(n)
    ]
    reads = [
        _ok("get", b"h", (10 + 2 * i, 11 + 2 * i), result=b"%d" % ((i * 7) % n)) for i in range(n)
    ]
    return writes + reads


def test_a_tiny_budget_answers_unknown_quickly() -> None:
    started = time.monotonic()
    verdict = check(_hard_history(20), step_budget=50)
    assert verdict.result == "unknown" and verdict.key == b"h"
    assert verdict.steps == 50
    assert time.monotonic() - started < 1.0
    assert "step budget ran out" in verdict.explain()


def test_the_search_releases_the_gil() -> None:
    """Another Python thread keeps running while a long search is under way."""
    stop = threading.Event()
    ticks: List[float] = []

    def count() -> None:
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.001)

    history = _hard_history(24)
    thread = threading.Thread(target=count)
    thread.start()
    try:
        started = time.monotonic()
        verdict = check(history, step_budget=3_000_000)
        ended = time.monotonic()
    finally:
        stop.set()
        thread.join()
    assert ended - started > 0.1, "the search was too short to tell"
    during = [t for t in ticks if started + 0.02 < t < ended - 0.02]
    assert len(during) > 10, (verdict, ended - started, len(ticks))


def test_malformed_histories_are_rejected_with_a_reason() -> None:
    with pytest.raises(InvalidArgumentError, match="no completion time"):
        check([Op(process=0, kind="put", key=b"k", value=b"1", status="ok", invoke=3)])
    with pytest.raises(InvalidArgumentError, match="must be swapped"):
        check([_ok("cas", b"k", (0, 1), expected=None, value=b"1", result=b"yes")])
    with pytest.raises(InvalidArgumentError, match="needs a value"):
        check([_ok("put", b"k", (0, 1))])
    with pytest.raises(ValueError, match="step_budget"):
        check([], step_budget=-1)
