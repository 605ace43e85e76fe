"""The nemesis: seeded schedules are reproducible and bounded; a run heals everything at
its end, even when stopped in the middle of a fault."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import wait_until
from dougdb.testing.nemesis import FAULTS, LEADER_FAULTS, Nemesis


@dataclass
class _Node:
    id: int


class ShapeOnly:
    """Just the shape a plan needs (no processes)."""

    def __init__(self, nodes: int, shards: int) -> None:
        self.nodes = [_Node(i) for i in range(1, nodes + 1)]
        self.shard_count = shards


def test_same_seed_same_schedule_and_different_seeds_differ() -> None:
    a = Nemesis(ShapeOnly(5, 3)).plan(60, seed=42)
    b = Nemesis(ShapeOnly(5, 3)).plan(60, seed=42)
    c = Nemesis(ShapeOnly(5, 3)).plan(60, seed=43)
    assert a == b
    assert a != c
    assert len(a) > 10


def test_schedule_is_bounded_in_time_and_count() -> None:
    for seed in range(20):
        steps = Nemesis(ShapeOnly(3, 1), hold=(0.5, 2.0), interval=(0.1, 1.0)).plan(10, seed)
        assert all(s.at + s.hold <= 10 for s in steps)
        assert all(a.at + a.hold <= b.at for a, b in zip(steps, steps[1:])), "one at a time"
        assert all(0.5 <= s.hold <= 2.0 for s in steps)
    assert len(Nemesis(ShapeOnly(3, 1), max_faults=4).plan(600, 1)) == 4


def test_steps_name_valid_nodes_shards_and_minorities() -> None:
    for seed in range(30):
        steps = Nemesis(ShapeOnly(5, 4)).plan(60, seed)
        for s in steps:
            assert s.fault in FAULTS
            assert all(1 <= n <= 5 for n in s.nodes)
            if s.fault in LEADER_FAULTS:
                assert s.shard in range(4)
            if s.fault == "halves":
                minority, rest = s.groups
                assert len(minority) < len(rest) and set(minority) | set(rest) == {1, 2, 3, 4, 5}
            if s.fault == "bridge":
                a, b = s.groups
                assert len(a) == len(b) == 2 and not set(a) & set(b)
                assert s.nodes[0] not in a + b
            if s.fault == "crash_all":
                assert s.nodes == (1, 2, 3, 4, 5)


def test_bridge_needs_five_nodes_and_must_include_is_honoured() -> None:
    for seed in range(10):
        assert all(s.fault != "bridge" for s in Nemesis(ShapeOnly(3, 1)).plan(60, seed))
        steps = Nemesis(ShapeOnly(3, 1), faults=("kill",), must_include=("crash_all",)).plan(
            20, seed
        )
        assert "crash_all" in [s.fault for s in steps]
    with pytest.raises(ValueError):
        Nemesis(ShapeOnly(3, 1), faults=("meteor",))


def healthy(cluster: Any) -> bool:
    """Every node runs unpaused, every shard has a leader, a write succeeds and every
    node's replica sees it (no partition left)."""
    if not all(n.alive and not n.paused for n in cluster.nodes):
        return False
    for shard in range(cluster.shard_count):
        if cluster.leader(shard) is None:
            return False
    key = b"heal-probe-%d" % time.monotonic_ns()
    cluster.client(timeout=2.0).put(key, b"x")
    return all(
        cluster.client(node=n.id, timeout=1.0).get(key, consistency="eventual") == b"x"
        for n in cluster.nodes
    )


def test_run_applies_faults_records_a_timeline_and_heals(dougdb_cluster_factory: Any) -> None:
    cluster = dougdb_cluster_factory(nodes=3, shards=1, election_timeout_ms=(100, 200))
    nemesis = Nemesis(
        cluster, faults=("kill", "pause", "isolate", "kill_leader", "halves"),
        interval=(0.05, 0.2), hold=(0.3, 0.6), max_faults=6,
    )
    planned = nemesis.plan(6, seed=5)
    timeline = nemesis.run(6, seed=5)
    assert [e.step for e in timeline] == planned
    assert not nemesis.errors, nemesis.errors
    for e in timeline:
        assert e.started_ns is not None and e.healed_ns is not None and e.recovered_ns
        assert e.started_ns <= e.healed_ns <= e.recovered_ns
        assert e.nodes, e.describe()
    for a, b in zip(timeline, timeline[1:]):
        assert a.recovered_ns <= b.started_ns
    assert nemesis.active() is None
    wait_until(lambda: healthy(cluster), timeout=20, what="a healthy cluster after the run")


def test_stop_in_the_middle_of_a_fault_still_heals(dougdb_cluster_factory: Any) -> None:
    cluster = dougdb_cluster_factory(nodes=3, shards=1, election_timeout_ms=(100, 200))
    for fault in ("kill", "pause", "halves"):
        nemesis = Nemesis(cluster, faults=(fault,), interval=(0, 0), hold=(30, 30))
        stop = threading.Event()
        t = threading.Thread(target=nemesis.run, args=(40, 1, stop))
        t.start()
        try:
            active = wait_until(nemesis.active, what=f"{fault} in force")
            victims = active.nodes
            if fault == "kill":
                assert not any(n.alive for n in cluster.nodes if n.id in victims)
            if fault == "pause":
                assert all(n.paused for n in cluster.nodes if n.id in victims)
        finally:
            stop.set()
            t.join(timeout=60)
        assert not t.is_alive()
        assert len(nemesis.timeline) == 1 and nemesis.timeline[0].healed_ns is not None
        wait_until(lambda: healthy(cluster), timeout=20, what=f"healthy after stopping {fault}")


def test_leader_kill_measures_time_to_a_new_leader(dougdb_cluster_factory: Any) -> None:
    cluster = dougdb_cluster_factory(nodes=3, shards=2, election_timeout_ms=(100, 200))
    nemesis = Nemesis(cluster, faults=("kill_leader",), interval=(0.1, 0.2), hold=(3, 3),
                      max_faults=2)
    timeline = nemesis.run(10, seed=3)
    assert len(timeline) == 2
    for e in timeline:
        shard = e.step.shard
        assert e.nodes == (e.leaders_before[shard],), "the shard's leader was the victim"
        assert e.new_leader_ms.get(shard) is not None, e.describe()
        assert 0 < e.new_leader_ms[shard] < 3000
