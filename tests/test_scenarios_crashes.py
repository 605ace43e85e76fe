"""Fault scenarios with crashes: restart churn including every node at once, one node
killed 50 times during write bursts, and set completeness of cross-shard scans under
kills and partitions. Each asserts nothing lost, nothing resurrected, a linearizable
history, and its own claim. Replay one with ``DOUGDB_TEST_SEED=<seed>`` (printed)."""

from __future__ import annotations

from typing import Any

from dougdb.testing.nemesis import Nemesis
from dougdb.testing.pytest import run_checked
from dougdb.testing.workload import RegisterWorkload, SetWorkload

FAST = (100, 200)


def test_crash_restart_churn_including_all_nodes_at_once(
    dougdb_cluster_factory: Any, seed: int
) -> None:
    cluster = dougdb_cluster_factory(nodes=3, shards=2, election_timeout_ms=FAST)
    nemesis = Nemesis(cluster, faults=("kill", "restart", "kill_leader", "crash_all"),
                      interval=(0.1, 0.4), hold=(0.3, 1.0), must_include=("crash_all",))
    report = run_checked(cluster, RegisterWorkload(keys=8, processes=4), nemesis,
                         seconds=16, seed=seed)
    crashes = [e for e in report.timeline if e.step.fault == "crash_all"]
    assert crashes, report.summary()
    for e in crashes:
        assert e.nodes == (1, 2, 3)
        assert all(v is not None for v in e.new_leader_ms.values()), e.describe()
        assert set(e.new_leader_ms) == {0, 1}
    assert not report.nemesis_errors


def test_single_node_killed_during_write_bursts_50_times(
    dougdb_cluster_factory: Any, seed: int
) -> None:
    cluster = dougdb_cluster_factory(nodes=3, shards=1, election_timeout_ms=FAST)
    nemesis = Nemesis(cluster, faults=("kill",), interval=(0.0, 0.1), hold=(0.05, 0.2),
                      max_faults=50)
    workload = RegisterWorkload(keys=8, processes=4, weights={"put": 4, "cas": 2, "get": 1})
    # Bounded by the 50 kills: the workload stops when the schedule is done.
    report = run_checked(cluster, workload, nemesis, seconds=120, seed=seed)
    kills = [e for e in report.timeline if e.step.fault == "kill"]
    assert len(kills) == 50, report.summary()
    assert all(e.recovered_ns is not None and e.error is None for e in kills)
    writes = [op for op in report.history if op.kind in ("put", "cas") and op.status == "ok"]
    assert len(writes) > 300, "writes kept flowing between the kills"


def test_set_scans_across_4_shards_complete_under_kills_and_partitions(
    dougdb_cluster_factory: Any, seed: int
) -> None:
    cluster = dougdb_cluster_factory(nodes=3, shards=4, election_timeout_ms=FAST)
    nemesis = Nemesis(cluster, faults=("kill", "kill_leader", "isolate", "halves"),
                      interval=(0.2, 0.5), hold=(0.5, 1.5))
    workload = SetWorkload(processes=4, scan_weight=0.1)
    report = run_checked(cluster, workload, nemesis, seconds=15, seed=seed)
    adds = [op for op in report.history if op.kind == "add" and op.status == "ok"]
    scans = [op for op in report.history if op.kind == "scan" and op.status == "ok"]
    assert len(adds) > 200 and len(scans) > 10, report.summary()
    assert len({cluster.shard_for(op.key) for op in adds}) == 4
    # Every acknowledged insert is in the final scan (also asserted as "lost").
    assert all(report.final.get(op.key) == op.value for op in adds)
