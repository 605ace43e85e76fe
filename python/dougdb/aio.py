"""The asyncio client: :class:`AsyncClient`, the methods of :class:`~dougdb.Client` as
coroutines. Each call runs the blocking native call in a worker thread
(``asyncio.to_thread``); the native call releases the GIL, so the event loop keeps
running, and the call's deadline bounds it (cancelling the awaiting task does not stop a
call already sent)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterable, Sequence
from typing import (
    Any,
    Callable,
    TypeVar,
)

from typing_extensions import Self

from ._convert import BytesLike
from .client import DEFAULT_TIMEOUT, Client
from .client import connect as _connect

__all__ = ["AsyncClient", "connect"]

T = TypeVar("T")


async def _run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(
        None, functools.partial(fn, *args, **kwargs)
    )


async def connect(
    endpoints: str | Sequence[str],
    timeout: float = DEFAULT_TIMEOUT,
    *,
    pinned: bool = False,
) -> AsyncClient:
    """Connects (as :func:`dougdb.connect`) without blocking the event loop."""
    return AsyncClient(await _run(_connect, endpoints, timeout, pinned=pinned))


class AsyncClient:
    """An asyncio DougDB client wrapping a :class:`~dougdb.Client`. Make one with
    ``await dougdb.AsyncClient.connect(...)``, ``dougdb.aio.connect(...)``, or
    ``AsyncClient(client)``; usable with ``async with``."""

    def __init__(self, client: Client) -> None:
        self.sync = client

    @classmethod
    async def connect(
        cls,
        endpoints: str | Sequence[str],
        timeout: float = DEFAULT_TIMEOUT,
        *,
        pinned: bool = False,
    ) -> AsyncClient:
        return cls(await _run(_connect, endpoints, timeout, pinned=pinned))

    async def put(
        self, key: BytesLike, value: BytesLike, *, timeout: float | None = None
    ) -> None:
        await _run(self.sync.put, key, value, timeout=timeout)

    async def get(
        self,
        key: BytesLike,
        consistency: str = "strong",
        *,
        timeout: float | None = None,
    ) -> bytes | None:
        return await _run(self.sync.get, key, consistency, timeout=timeout)

    async def delete(self, key: BytesLike, *, timeout: float | None = None) -> bool:
        return await _run(self.sync.delete, key, timeout=timeout)

    async def cas(
        self,
        key: BytesLike,
        expected: BytesLike | None,
        new: BytesLike | None,
        *,
        timeout: float | None = None,
    ) -> bool:
        return await _run(self.sync.cas, key, expected, new, timeout=timeout)

    async def scan(
        self,
        start: BytesLike = b"",
        end: BytesLike | None = None,
        limit: int | None = None,
        consistency: str = "strong",
        *,
        timeout: float | None = None,
    ) -> list[tuple[bytes, bytes]]:
        return await _run(
            self.sync.scan, start, end, limit, consistency, timeout=timeout
        )

    async def put_many(
        self,
        items: Iterable[tuple[BytesLike, BytesLike]] | dict[Any, Any],
        *,
        timeout: float | None = None,
    ) -> None:
        items = items if isinstance(items, dict) else list(items)
        await _run(self.sync.put_many, items, timeout=timeout)

    async def get_many(
        self,
        keys: Iterable[BytesLike],
        consistency: str = "strong",
        *,
        timeout: float | None = None,
    ) -> list[bytes | None]:
        return await _run(self.sync.get_many, list(keys), consistency, timeout=timeout)

    def shard_for(self, key: BytesLike) -> int:
        return self.sync.shard_for(key)

    @property
    def timeout(self) -> float:
        return self.sync.timeout

    async def close(self) -> None:
        self.sync.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<dougdb.AsyncClient {','.join(self.sync.endpoints)}>"
