"""Is a recorded history linearizable? The native checker (``crates/dougdb-check``) decides.

What is checked: the single-key register calls of the history, ``get`` (strong reads
only), ``put``, ``delete`` and ``cas``. Eventual reads, ``scan`` and ``add`` (the set
workload) are not part of this check and are ignored; :mod:`dougdb.testing.analysis` has
the checks for them.

The model: every key is an independent register that starts absent. ``put`` sets it,
``delete`` makes it absent (its result: whether the key held a value), ``cas(expected,
new)`` sets it to ``new`` iff it holds ``expected`` (``expected=None``: iff it is absent;
its result: whether it swapped), ``get`` returns it (``None``: absent). An ``ok`` call took
effect exactly once between its invocation and completion, a ``fail`` call never, an
``info`` call once at any time after its invocation or never (an ``info`` read constrains
nothing). Call ``a`` precedes ``b`` iff ``a.complete < b.invoke``; equal times count as
concurrent. The history is linearizable iff one total order of the calls that respects
precedence explains every recorded result.

The search (Wing-Gong with Lowe's memoisation, per key) is exponential in the worst case,
so it is bounded: after ``step_budget`` steps on one key the answer is ``unknown``.
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

from .. import _native
from ._ops import Op, Verdict

#: The kinds this check covers.
CHECKED_KINDS = ("get", "put", "cas", "delete")

#: Default search budget per key: about a second of search on a large history.
DEFAULT_STEP_BUDGET = 1_000_000

OpTuple = Tuple[bytes, str, Optional[bytes], Optional[bytes], str, Any, int, Optional[int]]


def is_checked(op: Op) -> bool:
    """Whether ``check`` considers ``op``: a get (strong), put, cas or delete on a key."""
    if op.kind not in CHECKED_KINDS or op.key is None:
        return False
    return op.kind != "get" or op.consistency == "strong"


def _as_tuple(op: Op) -> OpTuple:
    assert op.key is not None  # is_checked
    return (
        op.key,
        op.kind,
        op.value,
        op.expected,
        op.status,
        op.result,
        op.invoke,
        op.complete,
    )


def check(history: Sequence[Op], *, step_budget: int = DEFAULT_STEP_BUDGET) -> Verdict:
    """Checks that ``history`` is linearizable (see the module docstring for the model).

    Returns a :class:`Verdict`: ``linearizable``; ``violation`` with the first key (in byte
    order) that has no linearization and a minimal witness, the ``Op`` objects of that key
    that are already not linearizable on their own (every value they observed is written
    by one of them, unless nothing in the history writes it, and dropping any one of them
    makes them linearizable or leaves a read unexplained); or ``unknown`` with the first
    key whose search ran out of ``step_budget`` steps. ``steps`` is the search work done.

    The GIL is released during the search. Raises ``dougdb.InvalidArgumentError`` for a
    malformed op (an ``ok`` call without ``complete``, a result of the wrong type, a write
    without a value) and ``ValueError`` for a negative budget.
    """
    if step_budget < 0:
        raise ValueError(f"step_budget must be >= 0, not {step_budget}")
    checked: List[Op] = [op for op in history if is_checked(op)]
    result, key, witness, steps = _native.check_linearizable(
        [_as_tuple(op) for op in checked], step_budget
    )
    return Verdict(
        result=result,
        key=key,
        witness=[checked[i] for i in witness],
        steps=steps,
    )
