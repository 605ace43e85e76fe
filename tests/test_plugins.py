"""``dougdb.plugins.load`` with the built-in plugins (built by scripts/build-plugins.sh into
plugins/target/wasm32-unknown-unknown/release/), and clusters routed by them."""

from __future__ import annotations

import struct
from typing import Any

import pytest

import dougdb
from conftest import builtin_plugin

# docs/plugins.md, "The hash-router hash (stable forever)"
HASH_VECTORS = [
    (b"", 16, 14),
    (b"a", 16, 13),
    (b"abc", 16, 4),
    (b"user:42", 3, 2),
    (b"user:42", 1024, 880),
    (b"the quick brown fox jumps over the lazy dog", 10, 9),
]


def range_config(splits: list[bytes]) -> bytes:
    """Split points in the route input encoding (docs/plugins.md, "Init input")."""
    head = struct.pack("<I", len(splits)) + b"".join(struct.pack("<I", len(s)) for s in splits)
    return head + b"".join(splits)


@pytest.fixture(scope="module")
def hash_router() -> Any:
    return dougdb.plugins.load(str(builtin_plugin("hash_router")))


@pytest.mark.parametrize(("key", "n", "shard"), HASH_VECTORS)
def test_hash_router_vectors(hash_router: Any, key: bytes, n: int, shard: int) -> None:
    assert list(hash_router.route([key], shard_count=n)) == [shard]


def test_hash_router_batch_and_fuel(hash_router: Any) -> None:
    keys = [b"k%d" % i for i in range(256)]
    batch = list(hash_router.route(keys, shard_count=8))
    assert batch[:20] == [hash_router.route([k], shard_count=8)[0] for k in keys[:20]]
    assert all(0 <= s < 8 for s in batch)
    assert len(set(batch)) == 8
    hash_router.route(keys, shard_count=8)
    fuel = hash_router.last_fuel_used
    assert isinstance(fuel, int) and fuel > 0
    hash_router.route(keys, shard_count=8)
    assert hash_router.last_fuel_used == fuel  # deterministic
    assert len(hash_router.sha256) == 64
    assert list(hash_router.route([], shard_count=4)) == []


def test_route_accepts_str_keys(hash_router: Any) -> None:
    assert list(hash_router.route(["user:42"], shard_count=3)) == [2]


def test_zero_shards_is_invalid(hash_router: Any) -> None:
    with pytest.raises(dougdb.InvalidArgumentError):
        hash_router.route([b"k"], shard_count=0)


def test_range_router_with_config() -> None:
    path = builtin_plugin("range_router")
    router = dougdb.plugins.load(str(path), config=range_config([b"g", b"p"]))
    got = list(router.route([b"a", b"g", b"m", b"p", b"z", b""], shard_count=3))
    assert got == [0, 1, 1, 2, 2, 0]


def test_range_router_wrong_shard_count_is_plugin_error() -> None:
    router = dougdb.plugins.load(
        str(builtin_plugin("range_router")), config=range_config([b"g", b"p"])
    )
    with pytest.raises(dougdb.PluginError) as info:
        router.route([b"a"], shard_count=5)
    assert "range" in str(info.value).lower()
    assert list(router.route([b"a"], shard_count=3)) == [0]  # still usable after a trap


def test_compaction_plugin_is_not_a_router() -> None:
    with pytest.raises(dougdb.DougDBError):
        dougdb.plugins.load(str(builtin_plugin("tiered_compaction")))


def test_cluster_routes_with_the_plugin(dougdb_cluster_factory: Any, hash_router: Any) -> None:
    cluster = dougdb_cluster_factory(
        nodes=1, shards=4, routing=str(builtin_plugin("hash_router"))
    )
    keys = [b"user:%d" % i for i in range(64)]
    assert [cluster.shard_for(k) for k in keys] == list(hash_router.route(keys, shard_count=4))
    db = cluster.client()
    db.put_many([(k, k) for k in keys])
    assert db.scan(b"user:", b"user;") == sorted((k, k) for k in keys)


def test_cluster_with_builtin_names(dougdb_cluster_factory: Any, hash_router: Any) -> None:
    cluster = dougdb_cluster_factory(nodes=1, shards=2, routing="hash", compaction="tiered")
    assert cluster.shard_for(b"abc") == hash_router.route([b"abc"], shard_count=2)[0]
    db = cluster.client()
    for i in range(50):
        db.put(b"c%d" % i, b"x" * 100)
    assert len(db.scan(b"c", b"d")) == 50
