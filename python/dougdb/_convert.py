"""Argument normalisation shared by the sync and async clients: keys and values as
bytes (str encoded UTF-8), checked options, all failures as InvalidArgumentError."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Union

from .errors import InvalidArgumentError

#: What a key or value may be given as.
BytesLike = Union[bytes, bytearray, memoryview, str]

CONSISTENCIES = ("strong", "eventual")


def to_bytes(value: Any, what: str) -> bytes:
    """``value`` as bytes; ``str`` is encoded as UTF-8."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise InvalidArgumentError(
        f"{what} must be bytes or str, got {type(value).__name__}: pass bytes, or a str "
        "(encoded as UTF-8)"
    )


def to_optional_bytes(value: Any, what: str) -> bytes | None:
    return None if value is None else to_bytes(value, what)


def to_key(value: Any) -> bytes:
    key = to_bytes(value, "key")
    if not key:
        raise InvalidArgumentError("the key is empty; keys are 1 or more bytes")
    return key


def check_consistency(consistency: Any) -> str:
    if consistency not in CONSISTENCIES:
        raise InvalidArgumentError(
            f'consistency must be "strong" or "eventual", got {consistency!r}'
        )
    return str(consistency)


def check_timeout(timeout: Any, what: str = "timeout") -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise InvalidArgumentError(
            f"{what} must be a number of seconds or None, got {type(timeout).__name__}"
        )
    t = float(timeout)
    if not math.isfinite(t) or t <= 0:
        raise InvalidArgumentError(
            f"{what} must be a positive number of seconds, got {timeout!r}"
        )
    return t


def check_limit(limit: Any) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise InvalidArgumentError(
            f"limit must be a non-negative int or None, got {limit!r}"
        )
    return limit


def split_endpoints(endpoints: str | Sequence[str]) -> list:
    """``"a:1,b:2"`` or ``["a:1", "b:2"]`` as a list of addresses."""
    if isinstance(endpoints, str):
        parts = [p.strip() for p in endpoints.split(",")]
    else:
        try:
            parts = [str(p).strip() for p in endpoints]
        except TypeError:
            raise InvalidArgumentError(
                f"endpoints must be a str like '127.0.0.1:7101,127.0.0.1:7102' or a list of "
                f"addresses, got {type(endpoints).__name__}"
            ) from None
    parts = [p for p in parts if p]
    if not parts:
        raise InvalidArgumentError(
            "no endpoints given: pass node or facade addresses like '127.0.0.1:7101'"
        )
    return parts
