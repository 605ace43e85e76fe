"""The record of one client call in a history, and the checker's verdict.

This is the contract between the history recorder (``dougdb.testing.history``), the
linearizability checker (``dougdb.testing.checker``) and the reports. A history is a list
of :class:`Op`, one per call, in invocation order.

Semantics follow Jepsen: every call is invoked, then ends ``ok`` (it happened, with this
result), ``fail`` (it certainly did not happen) or ``info`` (unknown: it may have taken
effect at any time after its invocation, or never). A timeout or a lost connection on a
write is ``info``, never ``fail``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Optional

#: Operation kinds. ``get``/``put``/``cas``/``delete`` touch one key; ``scan`` reads a range;
#: ``add`` is a set-workload insert (a put of a fresh key).
Kind = Literal["get", "put", "cas", "delete", "scan", "add"]
Status = Literal["ok", "fail", "info"]
Consistency = Literal["strong", "eventual"]


@dataclass
class Op:
    """One call: what was asked, how it ended, and when (monotonic nanoseconds)."""

    #: The worker ("process") that issued it; a worker has at most one call outstanding.
    process: int
    kind: Kind
    #: The key (``None`` for ``scan``).
    key: Optional[bytes]
    #: ``put``/``add``: the value written. ``cas``: the new value. Otherwise ``None``.
    value: Optional[bytes] = None
    #: ``cas`` only: the value the key must hold (``None``: the key must be absent).
    expected: Optional[bytes] = None
    #: ``get``: the value read (``None``: absent). ``cas``: whether it swapped. ``delete``:
    #: whether the key existed. ``put``/``add``: ``None``. ``scan``: list of (key, value).
    result: Any = None
    status: Status = "info"
    #: Reads only: ``strong`` reads are linearizable; ``eventual`` reads are checked only
    #: for returning values that were written.
    consistency: Consistency = "strong"
    #: Monotonic clock (``time.monotonic_ns()``) at invocation and completion. ``complete``
    #: is ``None`` for ``info`` (the call may take effect at any later time).
    invoke: int = 0
    complete: Optional[int] = None
    #: Error class name and message for ``fail``/``info``.
    error: Optional[str] = None
    #: ``scan`` only: the key range ``[start, end)`` (``end`` ``None``: to the end).
    start: Optional[bytes] = None
    end: Optional[bytes] = None

    def describe(self) -> str:
        """One line for reports and witnesses."""
        k = "" if self.key is None else repr(self.key)
        if self.kind in ("put", "add"):
            what = f"{self.kind}({k}, {self.value!r})"
        elif self.kind == "cas":
            what = f"cas({k}, {self.expected!r} -> {self.value!r})"
        elif self.kind == "scan":
            what = f"scan({self.start!r}..{self.end!r})"
        else:
            what = f"{self.kind}({k})"
        if self.status == "ok" and self.kind in ("get", "cas", "delete"):
            what += f" = {self.result!r}"
        elif self.status == "ok" and self.kind == "scan":
            what += f" = {len(self.result or [])} rows"
        elif self.status != "ok":
            what += f" [{self.status}{': ' + self.error if self.error else ''}]"
        span = "?" if self.complete is None else f"{(self.complete - self.invoke) / 1e6:.1f} ms"
        return f"p{self.process} {what} @ {self.invoke} (+{span})"


@dataclass
class Verdict:
    """The checker's answer on a history."""

    #: ``linearizable``, ``violation`` or ``unknown`` (the step budget ran out).
    result: Literal["linearizable", "violation", "unknown"]
    #: The key that is not linearizable (violation) or that ran out of budget (unknown).
    key: Optional[bytes] = None
    #: A minimal set of that key's operations that is already not linearizable.
    witness: list[Op] = field(default_factory=list)
    #: Search steps used in total.
    steps: int = 0

    def __bool__(self) -> bool:
        return self.result == "linearizable"

    def explain(self) -> str:
        """A human-readable account: the verdict, and the witness if there is one."""
        if self.result == "linearizable":
            return f"linearizable ({self.steps} steps)"
        if self.result == "unknown":
            return f"unknown: step budget ran out on key {self.key!r} ({self.steps} steps)"
        lines = [f"not linearizable: key {self.key!r}; minimal witness:"]
        lines += [f"  {op.describe()}" for op in self.witness]
        return "\n".join(lines)
