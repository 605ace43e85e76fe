"""Checks over a history that linearizability does not cover: outcome counts, lost and
resurrected writes against the final state, and eventual reads of values never written.

Pure Python over lists of :class:`~dougdb.testing.Op`. Real-time order is the checker's:
call ``a`` *certainly completed before* call ``b`` iff ``a`` has a completion time and
``a.complete < b.invoke``. A *write* is a ``put``, an ``add`` or a ``cas``; it *may have
written* its value unless it failed or is a ``cas`` that answered ``ok`` with ``False``; it
is *acknowledged* if it answered ``ok`` (for a ``cas``: ``ok`` with ``True``).

``final`` is the state after the run, for every key the history writes (from a final read
of each key, or a full scan): ``final.get(key)`` is the key's value, ``None`` or a missing
key meaning absent.
"""

from __future__ import annotations

from typing import Dict, List, Mapping, Optional, Sequence

from ._ops import Op

_WRITES = ("put", "add", "cas")


def count_outcomes(history: Sequence[Op]) -> Dict[str, int]:
    """How many calls ended ``ok``, ``fail`` and ``info`` (all three keys always present)."""
    counts = {"ok": 0, "fail": 0, "info": 0}
    for op in history:
        counts[op.status] += 1
    return counts


def _may_have_written(op: Op) -> bool:
    if op.kind not in _WRITES or op.status == "fail":
        return False
    return not (op.kind == "cas" and op.status == "ok" and op.result is not True)


def _acknowledged(op: Op) -> bool:
    if op.kind not in _WRITES or op.status != "ok":
        return False
    return op.kind != "cas" or op.result is True


def _before(a: Op, b: Op) -> bool:
    """``a`` certainly completed before ``b`` was invoked."""
    return a.complete is not None and a.complete < b.invoke


def _by_key(history: Sequence[Op]) -> Dict[bytes, List[Op]]:
    keys: Dict[bytes, List[Op]] = {}
    for op in history:
        if op.key is not None:
            keys.setdefault(op.key, []).append(op)
    return keys


def lost_writes(history: Sequence[Op], final: Mapping[bytes, Optional[bytes]]) -> List[Op]:
    """Acknowledged writes whose effect the final state cannot explain, in history order.

    An acknowledged ``add`` is lost if its key is absent from ``final``. An acknowledged
    ``put`` or swapped ``cas`` ``w`` on key ``k`` is lost if

    * ``k`` is absent in ``final`` and no ``delete`` of ``k`` that did not fail could have
      come after ``w`` (every such delete certainly completed before ``w`` was invoked);
      or
    * ``k`` holds a value ``v`` that ``w`` did not write, and every write of ``k`` that may
      have written ``v`` certainly completed before ``w`` was invoked (so ``w`` should have
      replaced ``v``). If nothing wrote ``v`` at all, see :func:`resurrected_writes`.
    """
    lost: List[Op] = []
    for key, ops in _by_key(history).items():
        now = final.get(key)
        deletes = [d for d in ops if d.kind == "delete" and d.status != "fail"]
        for w in ops:
            if not _acknowledged(w):
                continue
            if w.kind == "add":
                if now is None:
                    lost.append(w)
                continue
            if now is None:
                if all(_before(d, w) for d in deletes):
                    lost.append(w)
                continue
            if w.value == now:
                continue
            writers = [x for x in ops if _may_have_written(x) and x.value == now]
            if writers and all(_before(x, w) for x in writers):
                lost.append(w)
    order = {id(op): i for i, op in enumerate(history)}
    return sorted(lost, key=lambda op: order[id(op)])


def resurrected_writes(history: Sequence[Op], final: Mapping[bytes, Optional[bytes]]) -> List[Op]:
    """Writes whose value is in the final state although it was certainly replaced.

    For each key ``k`` whose final value ``v`` is present: every write ``x`` of ``k`` that
    may have written ``v`` is resurrected if an acknowledged write of another value, or an
    ``ok`` ``delete``, of ``k`` was invoked after ``x`` certainly completed (``x`` took
    effect before it, so it cannot be the last effect). An ``info`` write has no completion
    and is never resurrected. If no write of ``k`` may have written ``v`` at all, the
    result holds a synthetic ``get`` of ``k`` (``process=-1``, ``status="ok"``,
    ``result=v``, ``error`` saying so) standing for the final read of a value never
    written. Writes are listed in history order, synthetic reads after them.
    """
    resurrected: List[Op] = []
    never_written: List[Op] = []
    keys = _by_key(history)
    for key, now in final.items():
        if now is None:
            continue
        ops = keys.get(key, [])
        writers = [x for x in ops if _may_have_written(x) and x.value == now]
        if not writers:
            never_written.append(
                Op(
                    process=-1,
                    kind="get",
                    key=key,
                    result=now,
                    status="ok",
                    error=f"final value {now!r} of {key!r} was never written",
                )
            )
            continue
        replacers = [
            y
            for y in ops
            if (_acknowledged(y) and y.value != now) or (y.kind == "delete" and y.status == "ok")
        ]
        for x in writers:
            if any(_before(x, y) for y in replacers):
                resurrected.append(x)
    order = {id(op): i for i, op in enumerate(history)}
    return sorted(resurrected, key=lambda op: order[id(op)]) + never_written


def eventual_read_violations(history: Sequence[Op]) -> List[Op]:
    """``ok`` eventual reads that returned a value nobody could have written yet.

    An ``ok`` ``get`` with ``consistency="eventual"`` of key ``k`` that returned ``v`` (not
    ``None``: absent is always a possible stale answer) is a violation unless some write
    of ``k`` that may have written ``v`` was invoked no later than the read completed
    (equal times count). Staleness is allowed; inventing or reviving a failed write's
    value is not. In history order.
    """
    bad: List[Op] = []
    keys = _by_key(history)
    for r in history:
        if r.kind != "get" or r.consistency != "eventual" or r.status != "ok":
            continue
        if r.result is None or r.key is None:
            continue
        done = r.complete if r.complete is not None else r.invoke
        if not any(
            _may_have_written(x) and x.value == r.result and x.invoke <= done
            for x in keys.get(r.key, [])
        ):
            bad.append(r)
    return bad
