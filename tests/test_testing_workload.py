"""Workloads: the invariants they check (on hand-made histories), and a short real run
(bounded by op count, unique values, one client per worker)."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any, Optional

import pytest

from dougdb.testing import Op
from dougdb.testing._worker import Worker, Workload
from dougdb.testing.history import Recorder
from dougdb.testing.workload import (
    Combined,
    MinorityWrites,
    RegisterWorkload,
    SetWorkload,
    cas_false_but_applied,
    set_violations,
)

S, E = b"t/s/", b"t/s0"


class _Counting(Workload):
    """A workload whose worker only notes which index it ran as."""

    def __init__(self, name: str, processes: int, ran: list[tuple[str, int]]) -> None:
        super().__init__(processes)
        self.name, self.ran = name, ran

    def worker(self, w: Worker) -> None:
        self.ran.append((self.name, w.index))

    def final_keys(self, history: Any) -> list[bytes]:
        return []


def test_a_workload_must_implement_worker_and_final_keys() -> None:
    class Half(Workload):
        def worker(self, w: Worker) -> None:
            pass

    with pytest.raises(TypeError):
        Half()  # type: ignore[abstract]


def test_combined_worker_runs_the_part_its_index_falls_in() -> None:
    ran: list[tuple[str, int]] = []
    both = Combined(_Counting("a", 2, ran), _Counting("b", 3, ran))
    assert both.process_count == 5
    for i in range(5):
        w = Worker(process=i, index=i, rng=random.Random(i), recorder=Recorder(),
                   stop=threading.Event(), deadline=0.0, ops_max=1,
                   make_client=lambda: None, tag=b"")  # type: ignore[arg-type,return-value]
        both.worker(w)
    assert ran == [("a", 0), ("a", 1), ("b", 0), ("b", 1), ("b", 2)]
    with pytest.raises(IndexError):
        both.worker(Worker(process=5, index=5, rng=random.Random(5), recorder=Recorder(),
                           stop=threading.Event(), deadline=0.0, ops_max=1,
                           make_client=lambda: None, tag=b""))  # type: ignore[arg-type,return-value]


def add(p: int, key: bytes, value: bytes, t0: int, t1: Optional[int], status: str = "ok") -> Op:
    return Op(p, "add", key, value=value, status=status, invoke=t0, complete=t1)  # type: ignore[arg-type]


def scan(p: int, rows: list[tuple[bytes, bytes]], t0: int, t1: int,
         consistency: str = "strong") -> Op:
    return Op(p, "scan", None, result=rows, status="ok", invoke=t0, complete=t1,
              start=S, end=E, consistency=consistency)  # type: ignore[arg-type]


def test_set_scans_must_see_acknowledged_inserts() -> None:
    a = add(0, S + b"a", b"1", 0, 10)
    b = add(1, S + b"b", b"2", 5, None, status="info")  # may or may not be there
    good = [a, b, scan(2, [(S + b"a", b"1")], 20, 30),
            scan(2, [(S + b"a", b"1"), (S + b"b", b"2")], 40, 50),
            scan(3, [], 8, 9)]  # started before the insert was acknowledged
    assert set_violations(good, S, E) == []
    missed = good + [scan(2, [(S + b"b", b"2")], 60, 70)]
    [v] = set_violations(missed, S, E)
    assert "missed an insert" in v and "b'1'" in v
    # eventual scans may miss, but never invent
    assert set_violations(good + [scan(2, [], 60, 70, "eventual")], S, E) == []


def test_set_scans_must_not_invent_or_corrupt_elements() -> None:
    a = add(0, S + b"a", b"1", 0, 10)
    failed = add(0, S + b"f", b"9", 11, 12, status="fail")
    bad = [a, failed, scan(1, [(S + b"a", b"1"), (S + b"f", b"9")], 20, 30),
           scan(1, [(S + b"a", b"other")], 40, 50),
           scan(1, [(S + b"a", b"1"), (S + b"z", b"?")], 60, 70)]
    out = set_violations(bad, S, E)
    assert len(out) == 4, out  # f (failed insert), a=other (wrong value + missed a), z
    assert sum("never inserted" in v for v in out) == 3


def test_cas_answered_false_but_applied_is_caught() -> None:
    refused = Op(0, "cas", b"k", value=b"new", expected=b"old", result=False, status="ok",
                 invoke=0, complete=5)
    read = Op(1, "get", b"k", result=b"new", status="ok", invoke=10, complete=12)
    [v] = cas_false_but_applied([refused, read], {})
    assert "cas answered False" in v
    assert cas_false_but_applied([refused], {b"k": b"new"})  # the final value shows it too
    assert cas_false_but_applied([refused], {b"k": b"old"}) == []


@dataclass
class _Step:
    fault: str = "isolate"
    at: float = 0.0
    hold: float = 1.0


@dataclass
class _Event:
    started_ns: Optional[int]
    healed_ns: Optional[int]
    step: _Step = field(default_factory=_Step)

    def describe(self) -> str:
        return "isolate"


def test_minority_writes_flags_only_acknowledged_calls_inside_the_window() -> None:
    probe = MinorityWrites(nemesis=None)
    ev = _Event(started_ns=100, healed_ns=200)
    acked = Op(5, "put", b"m", value=b"v", status="ok", invoke=110, complete=150)
    timed_out = Op(5, "put", b"m", value=b"w", status="info", invoke=150)
    before = Op(5, "get", b"m", status="ok", invoke=90, complete=120)  # started too early
    after = Op(5, "put", b"m", value=b"x", status="ok", invoke=160, complete=210)
    probe._sent = [(5, op.invoke, 1, ev) for op in (acked, timed_out, before, after)]
    history = [before, acked, timed_out, after]
    [v] = probe.check(history, {})
    assert "node 1 was in the minority" in v and "b'v'" in v
    assert probe.probes == 2  # acked + timed_out were inside the window


def test_register_workload_runs_bounded_with_unique_values(dougdb_cluster: Any) -> None:
    rec = Recorder()
    w = RegisterWorkload(keys=3, processes=3, ops_per_process=40, pinned_readers=[1])
    w.run(dougdb_cluster, rec, seed=11, seconds=30)
    history = rec.history()
    assert len(history) == 4 * 40
    assert {op.process for op in history} == {0, 1, 2, 3}
    keys = set(w.keys())
    assert all(op.key in keys for op in history)
    written = [op.value for op in history if op.kind in ("put", "cas")]
    assert len(written) == len(set(written)) > 0, "values are unique"
    assert {op.kind for op in history if op.process == 3} <= {"get"}, "pinned reader reads"
    assert all(op.status == "ok" for op in history), [op.describe() for op in history
                                                      if op.status != "ok"][:5]
    assert cas_false_but_applied(history, {}) == []


def test_set_and_combined_workloads_share_one_history(dougdb_cluster_factory: Any) -> None:
    cluster = dougdb_cluster_factory(nodes=3, shards=4)
    rec = Recorder()
    s, r = SetWorkload(processes=2, ops_per_process=50, scan_weight=0.2), RegisterWorkload(
        keys=2, processes=1, ops_per_process=20)
    Combined(s, r).run(cluster, rec, seed=3, seconds=30)
    history = rec.history()
    assert {op.process for op in history} == {0, 1, 2}
    adds = [op for op in history if op.kind == "add"]
    assert adds and any(op.kind == "scan" for op in history)
    assert len({cluster.shard_for(op.key) for op in adds}) == 4, "the set spans every shard"
    assert set_violations(history, *s.bounds()) == []
    final = s.final_reads(cluster.client(), rec, 9, history, deadline=1e18)
    assert set(final) == {op.key for op in adds} and all(final[op.key] == op.value for op in adds)
