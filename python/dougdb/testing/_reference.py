"""A brute-force linearizability checker, obviously correct and slow: the reference the
native checker (:mod:`dougdb.testing.checker`) is validated against. For histories of up
to about eight calls per key.

It covers the same calls as the checker (:func:`~dougdb.testing.checker.is_checked`) and
the same model: per key, a register starting absent; ``ok`` calls took effect once within
their interval, ``fail`` calls never, ``info`` calls at any time after invocation or never
(``info`` reads constrain nothing); ``a`` precedes ``b`` iff ``a.complete < b.invoke``. It
tries every order of the calls that respects precedence, step by step, leaving any
``info`` call out, and succeeds as soon as all ``ok`` calls are placed with the results
they recorded.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

from ._ops import Op
from .checker import is_checked

#: Refuse larger key histories: the search is factorial.
MAX_OPS_PER_KEY = 10

_IMPOSSIBLE = object()


def _apply(state: Optional[bytes], op: Op) -> Any:
    """The register's next state after ``op``, or ``_IMPOSSIBLE`` if ``op``'s recorded
    result cannot be returned from ``state``."""
    known = op.status == "ok"
    if op.kind == "get":
        return state if not known or op.result == state else _IMPOSSIBLE
    if op.kind == "put":
        return op.value
    if op.kind == "delete":
        return None if not known or op.result == (state is not None) else _IMPOSSIBLE
    # cas
    swaps = state == op.expected
    after = op.value if swaps else state
    return after if not known or op.result == swaps else _IMPOSSIBLE


def _precedes(a: Op, b: Op) -> bool:
    return a.status == "ok" and a.complete is not None and a.complete < b.invoke


def key_is_linearizable(ops: Sequence[Op]) -> bool:
    """Whether the calls of one key have a linearization."""
    calls = [
        op for op in ops if op.status != "fail" and not (op.kind == "get" and op.status != "ok")
    ]
    if len(calls) > MAX_OPS_PER_KEY:
        raise ValueError(
            f"{len(calls)} calls on one key: the reference takes {MAX_OPS_PER_KEY} at most"
        )
    placed = [False] * len(calls)

    def search(state: Optional[bytes]) -> bool:
        if all(p or c.status != "ok" for p, c in zip(placed, calls)):
            return True
        for i, call in enumerate(calls):
            if placed[i]:
                continue
            waiting = (not placed[j] and _precedes(calls[j], call) for j in range(len(calls)))
            if any(waiting):
                continue
            after = _apply(state, call)
            if after is _IMPOSSIBLE:
                continue
            placed[i] = True
            if search(after):
                return True
            placed[i] = False
        return False

    return search(None)


def by_key(history: Sequence[Op]) -> Dict[bytes, List[Op]]:
    """The checked calls of ``history``, grouped by key."""
    keys: Dict[bytes, List[Op]] = {}
    for op in history:
        if is_checked(op):
            assert op.key is not None
            keys.setdefault(op.key, []).append(op)
    return keys


def bad_keys(history: Sequence[Op]) -> List[bytes]:
    """The keys whose calls have no linearization, in byte order."""
    return sorted(k for k, ops in by_key(history).items() if not key_is_linearizable(ops))


def is_linearizable(history: Sequence[Op]) -> bool:
    """Whether every key of ``history`` has a linearization."""
    return not bad_keys(history)


__all__: Tuple[str, ...] = ("key_is_linearizable", "bad_keys", "is_linearizable", "by_key")
