"""``AsyncClient``: every method under asyncio, many calls in flight from one event loop."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import dougdb
import dougdb.aio


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_every_method(kv_cluster: Any, unique_prefix: bytes) -> None:
    p = unique_prefix

    async def main() -> None:
        async with await dougdb.aio.connect(",".join(kv_cluster.endpoints), timeout=5.0) as db:
            assert isinstance(db, dougdb.aio.AsyncClient)
            assert await db.put(p + b"a", b"1") is None
            assert await db.get(p + b"a") == b"1"
            assert await db.get(p + b"missing") is None
            assert await db.get(p + b"a", consistency="eventual") in (b"1", None)
            assert await db.cas(p + b"a", b"1", b"2") is True
            assert await db.cas(p + b"a", b"1", b"3") is False
            assert await db.delete(p + b"a") is True
            assert await db.delete(p + b"a") is False
            await db.put_many([(p + b"%02d" % i, b"%d" % i) for i in range(20)])
            assert await db.get_many([p + b"00", p + b"zz", p + b"19"]) == [b"0", None, b"19"]
            got = await db.scan(p, p + b"\xff", limit=5)
            assert got == [(p + b"%02d" % i, b"%d" % i) for i in range(5)]
            assert await db.scan(p, p + b"\xff", limit=0) == []
            assert db.shard_for(p + b"00") == kv_cluster.shard_for(p + b"00")
            assert db.timeout == 5.0
            await db.put(p.decode() + "s", "", timeout=2.0)
            assert await db.get(p + b"s", timeout=2.0) == b""

    run(main())


def test_concurrent_calls(kv_cluster: Any, unique_prefix: bytes) -> None:
    p = unique_prefix

    async def main() -> list[bytes | None]:
        db = await dougdb.AsyncClient.connect(kv_cluster.endpoints, timeout=5.0)
        await asyncio.gather(*(db.put(p + b"%03d" % i, b"v%d" % i) for i in range(100)))
        values = await asyncio.gather(*(db.get(p + b"%03d" % i) for i in range(100)))
        await db.close()
        return list(values)

    assert run(main()) == [b"v%d" % i for i in range(100)]


def test_cluster_async_client_and_pinned(kv_cluster: Any, unique_prefix: bytes) -> None:
    key = unique_prefix + b"ac"

    async def main() -> None:
        db = kv_cluster.async_client()
        await db.put(key, b"1")
        leader = kv_cluster.wait_for_leader(kv_cluster.shard_for(key))
        pinned = kv_cluster.async_client(node=leader)
        assert await pinned.get(key) == b"1"
        await pinned.close()
        await db.close()

    run(main())


def test_async_errors(kv_cluster: Any) -> None:
    async def main() -> None:
        db = dougdb.AsyncClient(kv_cluster.client())
        with pytest.raises(dougdb.InvalidArgumentError):
            await db.put(b"", b"v")
        with pytest.raises(dougdb.InvalidArgumentError):
            await db.get(b"k", consistency="weak")
        with pytest.raises(dougdb.InvalidArgumentError):
            await db.put(b"k", b"x" * (1024 * 1024 + 1))

    run(main())


def test_async_cas_race_has_one_winner(kv_cluster: Any, unique_prefix: bytes) -> None:
    key = unique_prefix + b"race"

    async def main() -> list[bool]:
        db = dougdb.AsyncClient(kv_cluster.client())
        return list(
            await asyncio.gather(*(db.cas(key, None, b"%d" % i) for i in range(16)))
        )

    results = run(main())
    assert results.count(True) == 1
    winner = results.index(True)
    assert kv_cluster.client().get(key) == b"%d" % winner
