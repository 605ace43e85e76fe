"""Each fault control of ``LocalCluster`` does what API.md says. Every test has its own
cluster (they break it); all waiting is polling against a deadline."""

from __future__ import annotations

import time
from typing import Any

import pytest

import dougdb
from conftest import other_nodes, wait_until

WRITE_ERRORS = (dougdb.TimeoutError, dougdb.UnavailableError, dougdb.ConnectionError)


def replica(status: Any, shard: int, node: int) -> Any:
    return next(r for r in status.shards[shard].replicas if r.node == node)


def sees(cluster: Any, node: int, key: bytes, value: bytes | None) -> bool:
    """Node ``node``'s own replica holds ``key`` = ``value`` (an eventual read pinned there)."""
    try:
        return cluster.client(node=node).get(key, consistency="eventual", timeout=1.0) == value
    except (dougdb.TimeoutError, dougdb.ConnectionError, dougdb.UnavailableError):
        return False


def new_leader(cluster: Any, old: int, timeout: float = 10.0) -> int:
    return int(
        wait_until(
            lambda: (lambda n: n if n not in (None, old) else None)(cluster.leader()),
            timeout=timeout,
            what=f"a leader other than node {old}",
        )
    )


def test_partitioned_minority_cannot_write(dougdb_cluster: Any) -> None:
    cluster = dougdb_cluster
    db = cluster.client()
    db.put(b"k", b"before")
    old = cluster.wait_for_leader()
    rest = other_nodes(cluster, old)
    cluster.partition([old], rest)
    minority = cluster.client(node=old)
    with pytest.raises(WRITE_ERRORS):
        minority.put(b"k", b"minority", timeout=1.0)
    leader = new_leader(cluster, old)
    assert leader in rest
    db.put(b"k", b"majority")
    assert db.get(b"k") == b"majority"
    with pytest.raises(WRITE_ERRORS):
        minority.get(b"k", timeout=1.0)  # strong: no ReadIndex without a quorum
    cluster.heal()
    wait_until(lambda: sees(cluster, old, b"k", b"majority"), what="old leader catches up")
    # the minority's write never happened (it may have been retried only within its call)
    assert db.get(b"k") == b"majority"


def test_partition_replaces_earlier_partitions_and_cuts(dougdb_cluster: Any) -> None:
    cluster = dougdb_cluster
    db = cluster.client()
    leader = cluster.wait_for_leader()
    a, b = other_nodes(cluster, leader)
    cluster.cut(leader, a)
    cluster.partition([a], [leader, b])  # replaces the cut
    db.put(b"x", b"1")
    assert not sees(cluster, a, b"x", b"1")
    cluster.partition([b], [a, leader])  # replaces: a is reachable again, b is not
    wait_until(lambda: sees(cluster, a, b"x", b"1"), what="node a reachable again")
    cluster.heal()
    wait_until(lambda: sees(cluster, b, b"x", b"1"), what="node b caught up after heal")


def test_paused_leader_is_replaced(dougdb_cluster: Any) -> None:
    cluster = dougdb_cluster
    cluster.client().put(b"k", b"1")
    old = cluster.wait_for_leader()
    pinned = cluster.client(node=old)  # connected before the pause
    cluster.pause(old)
    try:
        t0 = time.monotonic()
        cluster.leader()
        assert time.monotonic() - t0 < 2.0, "leader() must not wait long on a paused node"
        leader = new_leader(cluster, old)
        assert leader != old
        db = cluster.client()
        db.put(b"k", b"2")
        assert db.get(b"k") == b"2"
        with pytest.raises((dougdb.TimeoutError, dougdb.ConnectionError)):
            pinned.get(b"k", consistency="eventual", timeout=0.5)
        with pytest.raises((dougdb.TimeoutError, dougdb.ConnectionError)):
            pinned.put(b"k", b"paused", timeout=0.5)
        r = replica(cluster.status(), 0, old)
        assert r.alive is False and r.role == "unknown" and r.term is None
    finally:
        cluster.resume(old)
    wait_until(lambda: sees(cluster, old, b"k", b"2"), what="resumed node catches up")
    assert cluster.wait_for_leader() is not None


def test_client_moves_off_a_paused_leader(dougdb_cluster: Any) -> None:
    cluster = dougdb_cluster
    db = cluster.client()
    db.put(b"k", b"1")  # caches the leader
    old = cluster.wait_for_leader()
    cluster.pause(old)
    try:
        new_leader(cluster, old)
        db.put(b"k", b"2", timeout=4.0)
        assert db.get(b"k", timeout=4.0) == b"2"
    finally:
        cluster.resume(old)


def test_connect_to_a_paused_node(dougdb_cluster: Any) -> None:
    cluster = dougdb_cluster
    cluster.pause(2)
    try:
        with pytest.raises((dougdb.TimeoutError, dougdb.ConnectionError)):
            cluster.client(node=2, timeout=1.0).get(b"k", consistency="eventual")
    finally:
        cluster.resume(2)


def test_cut_isolates_one_link_only(dougdb_cluster: Any) -> None:
    cluster = dougdb_cluster
    db = cluster.client()
    leader = cluster.wait_for_leader()
    a, b = other_nodes(cluster, leader)
    cluster.cut(leader, a)
    db.put(b"cut", b"1")  # leader + b are a quorum
    wait_until(lambda: sees(cluster, b, b"cut", b"1"), what="b replicates through its link")
    assert not sees(cluster, a, b"cut", b"1")
    assert cluster.leader() in (leader, b)
    cluster.heal()
    wait_until(lambda: sees(cluster, a, b"cut", b"1"), what="a catches up after heal")


def test_kill_marks_node_dead_and_restart_brings_it_back(dougdb_cluster: Any) -> None:
    cluster = dougdb_cluster
    db = cluster.client()
    victim = 3
    cluster.kill(victim)
    info = next(n for n in cluster.nodes if n.id == victim)
    assert info.alive is False
    assert info.data_dir and info.address
    st = cluster.status()
    r = replica(st, 0, victim)
    assert (r.alive, r.role, r.term, r.commit_index, r.applied_index, r.snapshot_index) == (
        False, "unknown", None, None, None, None)
    assert st.to_dict()["shards"][0]["shard"] == 0
    for i in range(20):
        db.put(b"k%d" % i, b"v%d" % i)
    with pytest.raises((dougdb.ConnectionError, dougdb.TimeoutError)):
        cluster.client(node=victim).get(b"k0", consistency="eventual", timeout=1.0)
    cluster.restart(victim)
    assert next(n for n in cluster.nodes if n.id == victim).alive is True
    # restart() returns once the process answers RPCs
    cluster.client(node=victim).get(b"k0", consistency="eventual", timeout=2.0)
    wait_until(lambda: sees(cluster, victim, b"k19", b"v19"), what="killed node catches up")
    wait_until(lambda: replica(cluster.status(), 0, victim).alive, what="status alive again")


def test_killed_leader_is_replaced(dougdb_cluster: Any) -> None:
    cluster = dougdb_cluster
    db = cluster.client()
    db.put(b"k", b"1")
    old = cluster.wait_for_leader()
    cluster.kill(old)
    db.put(b"k", b"2")  # retried inside the call until a new leader answers
    assert cluster.wait_for_leader() != old
    assert db.get(b"k") == b"2"


def test_stop_node_and_restart_catch_up(dougdb_cluster: Any) -> None:
    cluster = dougdb_cluster
    db = cluster.client()
    leader = cluster.wait_for_leader()
    lagging = other_nodes(cluster, leader)[0]
    cluster.stop_node(lagging)
    assert next(n for n in cluster.nodes if n.id == lagging).alive is False
    db.put_many([(b"s%03d" % i, b"%d" % i) for i in range(100)])
    cluster.restart(lagging)
    wait_until(lambda: sees(cluster, lagging, b"s099", b"99"), what="restarted node catches up")
    pinned = cluster.client(node=lagging)
    assert pinned.scan(b"s", b"t", consistency="eventual") == [
        (b"s%03d" % i, b"%d" % i) for i in range(100)
    ]


def test_whole_cluster_restart_keeps_data(dougdb_cluster: Any) -> None:
    cluster = dougdb_cluster
    db = cluster.client()
    db.put_many([(b"d%d" % i, b"%d" % i) for i in range(30)])
    ids = [n.id for n in cluster.nodes]
    for n in ids:
        cluster.kill(n)
    for n in ids:
        cluster.restart(n)
    cluster.wait_for_leader(timeout=15.0)
    assert cluster.client().get_many([b"d%d" % i for i in range(30)]) == [
        b"%d" % i for i in range(30)
    ]


def test_leader_and_wait_for_leader(dougdb_cluster: Any) -> None:
    cluster = dougdb_cluster
    leader = cluster.wait_for_leader(0, timeout=10.0)
    assert leader in [n.id for n in cluster.nodes]
    assert wait_until(lambda: cluster.leader(0) == leader, what="leader() agrees")
    assert cluster.leader() == cluster.leader(shard=0)
    followers = other_nodes(cluster, leader)
    for n in followers:
        cluster.kill(n)
    # check-quorum: the lone leader steps down; then nobody leads
    wait_until(lambda: cluster.leader() is None, timeout=10.0, what="no leader without quorum")
    with pytest.raises(dougdb.UnavailableError):
        cluster.wait_for_leader(timeout=1.0)
    cluster.restart(followers[0])
    assert cluster.wait_for_leader(timeout=10.0) in (leader, followers[0])


def test_snapshot_entries_lagging_node_catches_up(dougdb_cluster_factory: Any) -> None:
    cluster = dougdb_cluster_factory(nodes=3, shards=1, snapshot_entries=16)
    db = cluster.client()
    leader = cluster.wait_for_leader()
    lagging = other_nodes(cluster, leader)[0]
    cluster.kill(lagging)
    for i in range(120):  # many snapshots' worth: the leader's log no longer has them
        db.put(b"snap%03d" % i, b"%d" % i)
    wait_until(
        lambda: (replica(cluster.status(), 0, leader).snapshot_index or 0) > 0,
        what="the leader to take a snapshot",
    )
    cluster.restart(lagging)
    wait_until(lambda: sees(cluster, lagging, b"snap119", b"119"), what="InstallSnapshot")
    assert cluster.client(node=lagging).get_many(
        [b"snap%03d" % i for i in range(120)], consistency="eventual"
    ) == [b"%d" % i for i in range(120)]
    wait_until(
        lambda: (replica(cluster.status(), 0, lagging).snapshot_index or 0) > 0,
        what="the lagging node's snapshot index",
    )


def test_status_shape(dougdb_cluster: Any) -> None:
    cluster = dougdb_cluster
    cluster.client().put(b"k", b"v")
    # A majority acknowledged the put; the third replica may still be waiting for the
    # leader's link to it (connects back off while a node starts), so wait for it too.
    wait_until(
        lambda: all(r.term >= 1 for r in cluster.status().shards[0].replicas),
        what="every replica to learn the leader's term",
    )
    st = cluster.status()
    assert [s.shard for s in st.shards] == [0]
    s0 = st.shards[0]
    assert s0.leader == cluster.wait_for_leader()
    assert sorted(r.node for r in s0.replicas) == [1, 2, 3]
    roles = sorted(r.role for r in s0.replicas)
    assert roles.count("leader") == 1 and roles.count("follower") == 2
    for r in s0.replicas:
        assert r.alive is True
        assert r.term >= 1
        assert 0 <= r.applied_index <= r.commit_index
        assert r.snapshot_index is not None
    d = st.to_dict()
    assert isinstance(d, dict) and d["shards"][0]["leader"] == s0.leader
    assert "<table" in st._repr_html_()


def test_nodes_and_endpoints(dougdb_cluster: Any) -> None:
    cluster = dougdb_cluster
    nodes = cluster.nodes
    assert [n.id for n in nodes] == [1, 2, 3]
    assert [n.address for n in nodes] == list(cluster.endpoints)
    assert all(n.alive and n.pid > 0 for n in nodes)
    assert len({n.data_dir for n in nodes}) == 3
