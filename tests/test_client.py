"""Every ``Client`` method on a shared 3-node, 4-shard cluster: str and bytes, both
consistency modes, ``b""`` versus absent, cas and delete answers, batches."""

from __future__ import annotations

from typing import Any

import pytest

import dougdb
from conftest import wait_until

CONSISTENCY = ["strong", "eventual"]


def eventually_get(db: Any, key: bytes, expected: bytes | None) -> None:
    """Eventual reads may be stale for a moment: poll until the replica caught up."""
    wait_until(
        lambda: db.get(key, consistency="eventual") == expected,
        timeout=5.0,
        what=f"eventual read of {key!r} to give {expected!r}",
    )


def test_put_get_bytes(kv: Any, unique_prefix: bytes) -> None:
    key = unique_prefix + b"k"
    assert kv.put(key, b"v") is None
    assert kv.get(key) == b"v"
    assert isinstance(kv.get(key), bytes)


@pytest.mark.parametrize("consistency", CONSISTENCY)
def test_get_both_modes(kv: Any, unique_prefix: bytes, consistency: str) -> None:
    key = unique_prefix + b"mode"
    kv.put(key, b"value")
    if consistency == "strong":
        assert kv.get(key, consistency="strong") == b"value"
    else:
        eventually_get(kv, key, b"value")


def test_str_keys_and_values_are_utf8(kv: Any, unique_prefix: bytes) -> None:
    key = unique_prefix.decode() + "clé"
    kv.put(key, "valeur ☃")
    assert kv.get(key) == "valeur ☃".encode()
    assert kv.get(key.encode()) == "valeur ☃".encode()
    kv.put(key.encode(), b"\xff\x00")
    assert kv.get(key) == b"\xff\x00"


def test_empty_value_is_not_absent(kv: Any, unique_prefix: bytes) -> None:
    key = unique_prefix + b"empty"
    assert kv.get(key) is None
    kv.put(key, b"")
    assert kv.get(key) == b""
    assert kv.get(key) is not None
    eventually_get(kv, key, b"")
    assert kv.get_many([key, unique_prefix + b"nope"]) == [b"", None]
    assert kv.scan(unique_prefix, unique_prefix + b"\xff") == [(key, b"")]
    assert kv.delete(key) is True
    assert kv.get(key) is None


def test_absent_key(kv: Any, unique_prefix: bytes) -> None:
    assert kv.get(unique_prefix + b"never") is None
    assert kv.get(unique_prefix + b"never", consistency="eventual") is None


def test_overwrite(kv: Any, unique_prefix: bytes) -> None:
    key = unique_prefix + b"o"
    kv.put(key, b"1")
    kv.put(key, b"2")
    assert kv.get(key) == b"2"


def test_delete_returns_whether_key_existed(kv: Any, unique_prefix: bytes) -> None:
    key = unique_prefix + b"d"
    assert kv.delete(key) is False
    kv.put(key, b"x")
    assert kv.delete(key) is True
    assert kv.delete(key) is False
    assert kv.get(key) is None
    eventually_get(kv, key, None)


def test_cas_semantics(kv: Any, unique_prefix: bytes) -> None:
    key = unique_prefix + b"cas"
    # expected None = absent
    assert kv.cas(key, None, b"v1") is True
    assert kv.get(key) == b"v1"
    assert kv.cas(key, None, b"other") is False
    assert kv.get(key) == b"v1"
    # wrong expected value: no change
    assert kv.cas(key, b"wrong", b"v2") is False
    assert kv.get(key) == b"v1"
    # right expected value
    assert kv.cas(key, b"v1", b"v2") is True
    assert kv.get(key) == b"v2"
    # new None = delete
    assert kv.cas(key, b"v1", None) is False
    assert kv.get(key) == b"v2"
    assert kv.cas(key, b"v2", None) is True
    assert kv.get(key) is None
    # absent key with an expected value
    assert kv.cas(key, b"v2", b"v3") is False
    assert kv.get(key) is None


def test_cas_distinguishes_empty_from_absent(kv: Any, unique_prefix: bytes) -> None:
    key = unique_prefix + b"cas-empty"
    assert kv.cas(key, b"", b"x") is False  # absent is not b""
    assert kv.cas(key, None, b"") is True
    assert kv.cas(key, None, b"x") is False  # b"" is not absent
    assert kv.cas(key, b"", b"x") is True
    assert kv.get(key) == b"x"


def test_cas_with_str(kv: Any, unique_prefix: bytes) -> None:
    key = unique_prefix.decode() + "s"
    assert kv.cas(key, None, "a") is True
    assert kv.cas(key, "a", "b") is True
    assert kv.get(key) == b"b"


def test_put_many_get_many(kv: Any, unique_prefix: bytes) -> None:
    items = [(unique_prefix + b"%03d" % i, b"v%d" % i) for i in range(50)]
    assert kv.put_many(items) is None
    keys = [k for k, _ in items]
    assert kv.get_many(keys) == [v for _, v in items]
    missing = unique_prefix + b"missing"
    got = kv.get_many([keys[3], missing, keys[0]])
    assert got == [b"v3", None, b"v0"]
    wait_until(
        lambda: kv.get_many(keys, consistency="eventual") == [v for _, v in items],
        timeout=5.0,
        what="eventual get_many",
    )


def test_get_many_empty_and_str(kv: Any, unique_prefix: bytes) -> None:
    assert kv.get_many([]) == []
    kv.put_many([(unique_prefix.decode() + "a", "1")])
    assert kv.get_many([unique_prefix.decode() + "a"]) == [b"1"]
    kv.put_many([])


def test_put_many_spans_shards(kv_cluster: Any, kv: Any, unique_prefix: bytes) -> None:
    items = [(unique_prefix + b"span%d" % i, b"%d" % i) for i in range(40)]
    shards = {kv_cluster.shard_for(k) for k, _ in items}
    assert len(shards) > 1, "40 keys should hash onto more than one of 4 shards"
    kv.put_many(items)
    assert kv.get_many([k for k, _ in items]) == [v for _, v in items]


def test_per_call_timeout_argument(kv: Any, unique_prefix: bytes) -> None:
    key = unique_prefix + b"t"
    kv.put(key, b"v", timeout=3.0)
    assert kv.get(key, timeout=3.0) == b"v"
    assert kv.get(key, consistency="eventual", timeout=3.0) in (b"v", None)
    assert kv.cas(key, b"v", b"w", timeout=3.0) is True
    assert kv.delete(key, timeout=3.0) is True
    assert kv.scan(unique_prefix, unique_prefix + b"\xff", limit=10, timeout=3.0) == []
    kv.put_many([(key, b"x")], timeout=3.0)
    assert kv.get_many([key], timeout=3.0) == [b"x"]


def test_shard_for_is_stable_and_in_range(kv_cluster: Any) -> None:
    shards = [kv_cluster.shard_for(b"user:%d" % i) for i in range(100)]
    assert all(0 <= s < 4 for s in shards)
    assert len(set(shards)) == 4
    assert shards == [kv_cluster.shard_for(b"user:%d" % i) for i in range(100)]
    assert kv_cluster.shard_for("user:1") == kv_cluster.shard_for(b"user:1")


def test_connect_with_endpoint_string(kv_cluster: Any, unique_prefix: bytes) -> None:
    db = dougdb.connect(",".join(kv_cluster.endpoints), timeout=5.0)
    db.put(unique_prefix + b"c", b"1")
    assert db.get(unique_prefix + b"c") == b"1"
    one = dougdb.connect(kv_cluster.endpoints[-1])  # any single node finds the rest
    assert one.get(unique_prefix + b"c") == b"1"


def test_large_value_round_trip(kv: Any, unique_prefix: bytes) -> None:
    value = bytes(range(256)) * 4096  # exactly 1 MiB: the default limit, allowed
    assert len(value) == 1024 * 1024
    kv.put(unique_prefix + b"big", value)
    assert kv.get(unique_prefix + b"big") == value
    key = b"k" * 4096  # the longest key allowed
    kv.put(key, b"long key")
    assert kv.get(key) == b"long key"
    kv.delete(key)


def test_pinned_client_on_leader_writes(kv_cluster: Any, unique_prefix: bytes) -> None:
    key = unique_prefix + b"pin"
    shard = kv_cluster.shard_for(key)
    leader = kv_cluster.wait_for_leader(shard)
    pinned = kv_cluster.client(node=leader)
    pinned.put(key, b"p")
    assert pinned.get(key) == b"p"
    assert pinned.get(key, consistency="eventual") == b"p"


def test_pinned_client_on_follower(kv_cluster: Any, kv: Any, unique_prefix: bytes) -> None:
    key = unique_prefix + b"pin-f"
    kv.put(key, b"f")
    shard = kv_cluster.shard_for(key)
    leader = kv_cluster.wait_for_leader(shard)
    replicas = [r.node for r in kv_cluster.status().shards[shard].replicas]
    follower = next(n for n in replicas if n != leader)
    pinned = kv_cluster.client(node=follower)
    with pytest.raises(dougdb.NotLeaderError) as info:
        pinned.put(key, b"no")
    assert info.value.leader_hint in (leader, None)
    assert isinstance(info.value, dougdb.UnavailableError)
    wait_until(
        lambda: pinned.get(key, consistency="eventual") == b"f",
        timeout=5.0,
        what="follower's own replica",
    )
    assert kv.get(key) == b"f"  # the refused write did not happen


def test_pinned_follower_strong_read_through_leader(
    kv_cluster: Any, kv: Any, unique_prefix: bytes
) -> None:
    key = unique_prefix + b"pin-r"
    kv.put(key, b"r")
    shard = kv_cluster.shard_for(key)
    leader = kv_cluster.wait_for_leader(shard)
    replicas = [r.node for r in kv_cluster.status().shards[shard].replicas]
    follower = next(n for n in replicas if n != leader)
    assert kv_cluster.client(node=follower).get(key) == b"r"
