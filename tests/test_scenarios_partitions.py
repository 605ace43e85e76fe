"""Fault scenarios with network partitions: a minority never acknowledges, random
partition churn (isolation, halves, bridges), and eventual reads under partitions and
kills. Each asserts nothing lost, nothing resurrected, a linearizable history, and its
own claim. Replay one with ``DOUGDB_TEST_SEED=<seed>`` (printed)."""

from __future__ import annotations

from typing import Any

from dougdb.testing.nemesis import Nemesis
from dougdb.testing.pytest import run_checked
from dougdb.testing.workload import Combined, MinorityWrites, RegisterWorkload

FAST = (100, 200)


def test_minority_never_acknowledges(dougdb_cluster_factory: Any, seed: int) -> None:
    # 5 nodes: the minority is one or two nodes, the leader sometimes among them.
    cluster = dougdb_cluster_factory(nodes=5, shards=1)
    nemesis = Nemesis(cluster, faults=("isolate", "isolate_leader", "halves"),
                      interval=(0.2, 0.5), hold=(1.5, 2.5))
    probe = MinorityWrites(nemesis, processes=2)
    report = run_checked(cluster, Combined(RegisterWorkload(keys=6, processes=3), probe),
                         nemesis, seconds=15, seed=seed)
    # run_checked failed already if a minority node acknowledged (a workload violation).
    assert probe.probes >= 5, f"only {probe.probes} calls reached a minority node"
    assert len(report.timeline) >= 4


def test_random_partition_churn(dougdb_cluster_factory: Any, seed: int) -> None:
    cluster = dougdb_cluster_factory(nodes=5, shards=2)
    shapes = ("isolate", "isolate_leader", "halves", "bridge")
    nemesis = Nemesis(cluster, faults=shapes, interval=(0.1, 0.4), hold=(0.5, 1.5),
                      must_include=shapes)
    report = run_checked(cluster, RegisterWorkload(keys=8, processes=4), nemesis,
                         seconds=15, seed=seed)
    assert len(report.timeline) >= 6, report.summary()
    assert {e.step.fault for e in report.timeline} == set(shapes)
    assert report.recovery_ms is not None


def test_eventual_reads_return_written_values_and_converge(
    dougdb_cluster_factory: Any, seed: int
) -> None:
    cluster = dougdb_cluster_factory(nodes=3, shards=2, election_timeout_ms=FAST)
    nemesis = Nemesis(cluster, faults=("isolate", "halves", "kill", "pause"),
                      interval=(0.2, 0.5), hold=(0.8, 1.5))
    workload = RegisterWorkload(keys=8, processes=4,
                                weights={"eventual": 5, "put": 2, "cas": 1, "get": 1})
    report = run_checked(cluster, workload, nemesis, seconds=14, seed=seed)
    eventual = [op for op in report.history
                if op.kind == "get" and op.consistency == "eventual" and op.status == "ok"]
    assert len(eventual) > 200, "enough eventual reads to mean something"
    assert not report.eventual_violations  # (run_checked asserted it too)
    assert report.convergence_ms is not None, "replicas did not converge after the heal"
