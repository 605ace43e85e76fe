"""A ``Client`` against a dict model (hypothesis): random operation sequences on a shared
4-shard cluster give the model's answers. Each example writes under its own prefix.

Every test runs from one seed, printed: ``DOUGDB_TEST_SEED=<seed>`` replays the run;
hypothesis also prints the failing example and its ``@reproduce_failure`` blob."""

from __future__ import annotations

import os
import random
import uuid
from typing import Any

from hypothesis import HealthCheck, given, note, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

SEED = int(os.environ.get("DOUGDB_TEST_SEED") or random.SystemRandom().randrange(2**32))


def print_seed() -> None:
    print(f"seed: {SEED} (replay: DOUGDB_TEST_SEED={SEED})")
    note(f"seed: {SEED} (replay: DOUGDB_TEST_SEED={SEED})")


SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    print_blob=True,
)

suffixes = st.binary(min_size=1, max_size=6)
values = st.binary(max_size=24)  # b"" included
maybe_values = st.none() | values

ops = st.lists(
    st.one_of(
        st.tuples(st.just("put"), suffixes, values),
        st.tuples(st.just("delete"), suffixes, st.none()),
        st.tuples(st.just("cas"), suffixes, st.tuples(maybe_values, maybe_values)),
        st.tuples(st.just("get"), suffixes, st.none()),
        st.tuples(st.just("put_many"), st.lists(st.tuples(suffixes, values), max_size=5),
                  st.none()),
    ),
    min_size=1,
    max_size=25,
)


def _apply(db: Any, model: dict[bytes, bytes], prefix: bytes, op: tuple[Any, ...]) -> None:
    kind, arg, extra = op
    if kind == "put":
        db.put(prefix + arg, extra)
        model[prefix + arg] = extra
    elif kind == "delete":
        assert db.delete(prefix + arg) is (prefix + arg in model)
        model.pop(prefix + arg, None)
    elif kind == "cas":
        expected, new = extra
        key = prefix + arg
        ok = model.get(key) == expected if expected is not None else key not in model
        assert db.cas(key, expected, new) is ok, (key, expected, new, model.get(key))
        if ok:
            if new is None:
                model.pop(key, None)
            else:
                model[key] = new
    elif kind == "get":
        assert db.get(prefix + arg) == model.get(prefix + arg)
    else:
        items = [(prefix + k, v) for k, v in arg]
        db.put_many(items)
        for k, v in items:  # later duplicates win, as in a dict update
            model[k] = v


@seed(SEED)
@SETTINGS
@given(ops=ops)
def test_client_matches_dict_model(kv: Any, ops: list[tuple[Any, ...]]) -> None:
    print_seed()
    prefix = b"prop-" + uuid.uuid4().hex[:10].encode() + b"/"
    note(f"prefix {prefix!r}")
    model: dict[bytes, bytes] = {}
    for op in ops:
        _apply(kv, model, prefix, op)
    end = prefix[:-1] + b"0"  # the byte after "/" bounds the prefix
    assert kv.scan(prefix, end) == sorted(model.items())
    keys = sorted(model) + [prefix + b"absent"]
    assert kv.get_many(keys) == [model.get(k) for k in keys]


@seed(SEED)
@SETTINGS
@given(
    keys=st.lists(suffixes, min_size=0, max_size=30, unique=True),
    start=st.binary(max_size=3),
    end=st.none() | st.binary(max_size=3),
    limit=st.none() | st.integers(min_value=0, max_value=40),
)
def test_scan_matches_sorted_model(
    kv: Any, keys: list[bytes], start: bytes, end: bytes | None, limit: int | None
) -> None:
    print_seed()
    prefix = b"scan-" + uuid.uuid4().hex[:10].encode() + b"/"
    model = {prefix + k: k for k in keys}
    kv.put_many(list(model.items()))
    lo = prefix + start
    hi = prefix[:-1] + b"0" if end is None else prefix + end
    expected = sorted((k, v) for k, v in model.items() if lo <= k < hi)
    if limit is not None:
        expected = expected[:limit]
    assert kv.scan(lo, hi, limit=limit) == expected


class ClientMachine(RuleBasedStateMachine):
    """Stateful: interleaved single-key operations, the model checked after every step."""

    db: Any = None

    def __init__(self) -> None:
        super().__init__()
        self.prefix = b"sm-" + uuid.uuid4().hex[:10].encode() + b"/"
        self.model: dict[bytes, bytes] = {}

    @initialize()
    def start(self) -> None:
        print_seed()
        note(f"prefix {self.prefix!r}")

    @rule(k=suffixes, v=values)
    def put(self, k: bytes, v: bytes) -> None:
        _apply(self.db, self.model, self.prefix, ("put", k, v))

    @rule(k=suffixes)
    def delete(self, k: bytes) -> None:
        _apply(self.db, self.model, self.prefix, ("delete", k, None))

    @rule(k=suffixes, expected=maybe_values, new=maybe_values)
    def cas(self, k: bytes, expected: bytes | None, new: bytes | None) -> None:
        _apply(self.db, self.model, self.prefix, ("cas", k, (expected, new)))

    @invariant()
    def scan_matches(self) -> None:
        end = self.prefix[:-1] + b"0"
        assert self.db.scan(self.prefix, end) == sorted(self.model.items())


def test_stateful_client(kv: Any) -> None:
    ClientMachine.db = kv
    run_state_machine_as_test(
        seed(SEED)(ClientMachine),
        settings=settings(
            max_examples=8, stateful_step_count=15, deadline=None, print_blob=True
        ),
    )
