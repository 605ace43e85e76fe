"""The blocking :class:`Client` and :func:`connect`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from typing_extensions import Self

from . import _native
from ._convert import (
    BytesLike,
    check_consistency,
    check_limit,
    check_timeout,
    split_endpoints,
    to_bytes,
    to_key,
    to_optional_bytes,
)
from .errors import InvalidArgumentError

__all__ = ["Client", "connect"]

#: The default deadline of every call, in seconds.
DEFAULT_TIMEOUT = 5.0


def connect(
    endpoints: str | Sequence[str],
    timeout: float = DEFAULT_TIMEOUT,
    *,
    pinned: bool = False,
) -> Client:
    """Connects to a DougDB cluster.

    ``endpoints``: node (or facade) addresses, as ``"h:p,h:p"`` or a list; any one that
    answers is enough. ``timeout``: the default deadline of every call, in seconds.
    ``pinned``: talk to the single endpoint given and never redirect (see
    ``LocalCluster.client(node=...)``).
    """
    addresses = split_endpoints(endpoints)
    t = check_timeout(timeout)
    if t is None:
        raise InvalidArgumentError(
            "timeout must be a positive number of seconds, got None"
        )
    return Client(_native.Client.connect(addresses, t, pinned))


class Client:
    """A blocking DougDB client (thread-safe). Keys and values are bytes; ``str`` is
    accepted and encoded as UTF-8; reads return bytes. Every method takes ``timeout=``
    (seconds) to override the default deadline. Made by :func:`connect` or
    ``LocalCluster.client()``; usable as a context manager."""

    def __init__(self, native: _native.Client) -> None:
        self._native = native

    # ---- single keys ---------------------------------------------------------------

    def put(
        self, key: BytesLike, value: BytesLike, *, timeout: float | None = None
    ) -> None:
        """Sets ``key`` to ``value``."""
        self._native.put(to_key(key), to_bytes(value, "value"), check_timeout(timeout))

    def get(
        self,
        key: BytesLike,
        consistency: str = "strong",
        *,
        timeout: float | None = None,
    ) -> bytes | None:
        """The value of ``key`` (None when absent). ``consistency="eventual"`` reads any
        replica, possibly stale."""
        return self._native.get(
            to_key(key), check_consistency(consistency), check_timeout(timeout)
        )

    def delete(self, key: BytesLike, *, timeout: float | None = None) -> bool:
        """Deletes ``key``; whether it existed."""
        return self._native.delete(to_key(key), check_timeout(timeout))

    def cas(
        self,
        key: BytesLike,
        expected: BytesLike | None,
        new: BytesLike | None,
        *,
        timeout: float | None = None,
    ) -> bool:
        """Compare-and-set: if the value is ``expected`` (None: absent), sets it to ``new``
        (None: deletes the key). Whether it did."""
        return self._native.cas(
            to_key(key),
            to_optional_bytes(expected, "expected"),
            to_optional_bytes(new, "new"),
            check_timeout(timeout),
        )

    # ---- ranges and batches ----------------------------------------------------------

    def scan(
        self,
        start: BytesLike = b"",
        end: BytesLike | None = None,
        limit: int | None = None,
        consistency: str = "strong",
        *,
        timeout: float | None = None,
    ) -> list[tuple[bytes, bytes]]:
        """``(key, value)`` pairs with ``start <= key < end`` (None: to the end), in key
        order across all shards, at most ``limit`` (None: all)."""
        return self._native.scan(
            to_bytes(start, "start"),
            to_optional_bytes(end, "end"),
            check_limit(limit),
            check_consistency(consistency),
            check_timeout(timeout),
        )

    def put_many(
        self,
        items: Iterable[tuple[BytesLike, BytesLike]] | dict[Any, Any],
        *,
        timeout: float | None = None,
    ) -> None:
        """Puts every pair; atomic within a shard, not across shards."""
        pairs = items.items() if isinstance(items, dict) else items
        try:
            batch = [(to_key(k), to_bytes(v, "value")) for k, v in pairs]
        except (TypeError, ValueError) as err:
            if isinstance(err, InvalidArgumentError):
                raise
            raise InvalidArgumentError(
                f"put_many takes (key, value) pairs or a dict: {err}"
            ) from None
        self._native.put_many(batch, check_timeout(timeout))

    def get_many(
        self,
        keys: Iterable[BytesLike],
        consistency: str = "strong",
        *,
        timeout: float | None = None,
    ) -> list[bytes | None]:
        """The value of each key (None where absent), aligned with ``keys``."""
        return self._native.get_many(
            [to_key(k) for k in keys],
            check_consistency(consistency),
            check_timeout(timeout),
        )

    # ---- cluster ---------------------------------------------------------------------

    def shard_for(self, key: BytesLike) -> int:
        """The shard ``key`` routes to."""
        return self._native.shard_for(to_key(key))

    def cluster_map(self) -> dict[str, Any]:
        """The cluster map in use (nodes, shards with leader hints, routing plugin)."""
        return self._native.cluster_map()

    @property
    def timeout(self) -> float:
        """The default deadline of each call, in seconds."""
        return self._native.timeout

    @property
    def endpoints(self) -> list[str]:
        return list(self._native.endpoints)

    @property
    def pinned(self) -> bool:
        return self._native.pinned

    def close(self) -> None:
        """Closes the connections; later calls raise DougDBError."""
        self._native.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        pinned = " pinned" if self.pinned else ""
        return f"<dougdb.Client {','.join(self.endpoints)}{pinned}>"
