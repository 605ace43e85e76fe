"""A ``facade=True`` cluster: the facade serves the same calls and routes every request to
the right shard leader, through a leader failover too."""

from __future__ import annotations

from typing import Any

import pytest

import dougdb
from conftest import wait_until


def facade_address(cluster: Any) -> str:
    nodes = {n.address for n in cluster.nodes}
    extra = [e for e in cluster.endpoints if e not in nodes]
    assert len(extra) == 1, f"endpoints {cluster.endpoints} should add one facade address"
    return extra[0]


def test_facade_serves_every_call(dougdb_cluster_factory: Any) -> None:
    cluster = dougdb_cluster_factory(nodes=3, shards=2, facade=True)
    via = dougdb.connect(facade_address(cluster), timeout=5.0)
    items = [(b"f%02d" % i, b"%d" % i) for i in range(40)]
    via.put_many(items)
    assert via.get_many([k for k, _ in items]) == [v for _, v in items]
    assert via.scan(b"f", b"g") == items
    assert via.scan(b"f", b"g", limit=5) == items[:5]
    assert via.cas(b"f00", b"0", b"zero") is True
    assert via.cas(b"f00", b"0", b"again") is False
    assert via.delete(b"f01") is True
    assert via.get(b"f01") is None
    wait_until(lambda: via.get(b"f00", consistency="eventual") == b"zero", what="eventual")
    # the nodes see what the facade wrote
    assert cluster.client().get(b"f00") == b"zero"


def test_facade_survives_leader_kill(dougdb_cluster_factory: Any) -> None:
    cluster = dougdb_cluster_factory(nodes=3, shards=1, facade=True)
    via = dougdb.connect(facade_address(cluster), timeout=10.0)
    via.put(b"k", b"1")
    old = cluster.wait_for_leader()
    cluster.kill(old)
    via.put(b"k", b"2")  # the facade retries on the new leader within the deadline
    assert via.get(b"k") == b"2"
    assert cluster.wait_for_leader() != old


def test_facade_invalid_arguments_pass_through(dougdb_cluster_factory: Any) -> None:
    cluster = dougdb_cluster_factory(nodes=1, shards=1, facade=True)
    via = dougdb.connect(facade_address(cluster), timeout=5.0)
    with pytest.raises(dougdb.InvalidArgumentError):
        via.put(b"", b"v")
    with pytest.raises(dougdb.InvalidArgumentError):
        via.put(b"k", b"x" * (1024 * 1024 + 1))
