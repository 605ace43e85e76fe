"""``scan`` across shards: bounds, limits, key order, paging, both consistency modes."""

from __future__ import annotations

import random
from typing import Any

import pytest

from conftest import wait_until


@pytest.fixture
def loaded(kv: Any, unique_prefix: bytes) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """300 keys under a fresh prefix, written in a shuffled order, spread over every shard."""
    items = [(unique_prefix + b"%04d" % i, b"value-%d" % i) for i in range(300)]
    shuffled = list(items)
    random.Random(7).shuffle(shuffled)
    kv.put_many(shuffled)
    return unique_prefix, items


def test_scan_all_in_key_order_across_shards(kv_cluster: Any, kv: Any, loaded: Any) -> None:
    prefix, items = loaded
    assert len({kv_cluster.shard_for(k) for k, _ in items}) == 4
    got = kv.scan(prefix, prefix + b"\xff")
    assert got == items
    assert all(isinstance(k, bytes) and isinstance(v, bytes) for k, v in got)


def test_scan_limit_none_zero_n(kv: Any, loaded: Any) -> None:
    prefix, items = loaded
    end = prefix + b"\xff"
    assert kv.scan(prefix, end, limit=None) == items  # every key, paged internally
    assert kv.scan(prefix, end, limit=0) == []
    assert kv.scan(prefix, end, limit=1) == items[:1]
    assert kv.scan(prefix, end, limit=17) == items[:17]
    assert kv.scan(prefix, end, limit=1000) == items


def test_scan_bounds_start_inclusive_end_exclusive(kv: Any, loaded: Any) -> None:
    prefix, items = loaded
    start, end = prefix + b"0010", prefix + b"0020"
    got = kv.scan(start, end)
    assert [k for k, _ in got] == [prefix + b"%04d" % i for i in range(10, 20)]
    assert kv.scan(start, start) == []  # empty range
    assert kv.scan(end, start) == []  # inverted range
    between = kv.scan(prefix + b"0010\x00", prefix + b"0012")
    assert [k for k, _ in between] == [prefix + b"0011"]


def test_scan_end_none_runs_to_the_end(kv: Any, loaded: Any) -> None:
    prefix, items = loaded
    # Keys of other tests may sort after ours: a limit keeps the check to our own keys.
    got = kv.scan(prefix + b"0290", None, limit=10)
    assert got == items[290:300]
    got = kv.scan(prefix + b"0295")
    assert got[:5] == items[295:]
    assert [k for k, _ in got] == sorted(k for k, _ in got)


def test_scan_default_start_is_beginning(kv: Any) -> None:
    first = kv.scan(limit=5)
    assert len(first) <= 5
    assert [k for k, _ in first] == sorted(k for k, _ in first)
    assert kv.scan(b"", None, limit=5) == first


def test_scan_eventual(kv: Any, loaded: Any) -> None:
    prefix, items = loaded
    wait_until(
        lambda: kv.scan(prefix, prefix + b"\xff", consistency="eventual") == items,
        timeout=5.0,
        what="eventual scan to see every key",
    )
    assert kv.scan(prefix, prefix + b"\xff", limit=3, consistency="eventual") == items[:3]


def test_scan_str_bounds(kv: Any, loaded: Any) -> None:
    prefix, items = loaded
    got = kv.scan(prefix.decode() + "0000", prefix.decode() + "0003")
    assert got == items[:3]


def test_scan_sees_deletes_and_overwrites(kv: Any, loaded: Any) -> None:
    prefix, items = loaded
    kv.delete(items[5][0])
    kv.put(items[6][0], b"new")
    got = dict(kv.scan(prefix, prefix + b"\xff"))
    assert items[5][0] not in got
    assert got[items[6][0]] == b"new"
    assert len(got) == 299


def test_scan_binary_keys_order(kv: Any, unique_prefix: bytes) -> None:
    suffixes = [b"\x00", b"\x01", b"\x7f", b"\x80", b"\xfe", b"\xff", b"\xff\x00", b"a", b"A"]
    kv.put_many([(unique_prefix + s, s) for s in suffixes])
    got = kv.scan(unique_prefix, unique_prefix + b"\xff\xff")
    assert [k for k, _ in got] == sorted(unique_prefix + s for s in suffixes)
