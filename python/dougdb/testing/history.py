"""Recording a history: every client call as invoke, then ``ok`` / ``fail`` / ``info``.

A :class:`Recorder` is shared by every worker thread of a run. Each call is recorded at
invocation (so the history is in invocation order) and completed when it returns, with
``time.monotonic_ns()`` on both ends::

    rec = Recorder()
    op = rec.call(0, "put", b"k", lambda: db.put(b"k", b"v1"), value=b"v1")
    op.status            # "ok", or "info" if it timed out
    history = rec.history()

How an error is classified (:func:`classify`) decides what the checker may assume, so it
errs on the side of ``info`` (the call may have taken effect at any later time, or never):
an ``info`` only weakens what the checker can prove; a wrong ``fail`` makes it report a
violation that did not happen.

- Reads (``get``, ``scan``) have no effect, so any error is ``fail``.
- Writes (``put``, ``add``, ``cas``, ``delete``):

  * ``InvalidArgumentError`` is ``fail``. The client refuses a malformed request before
    sending it; the server refuses it either before proposing or when applying the entry
    (size limits, a stale write sequence), and a refused entry has no effect. A retry
    carries the same write tag, so an earlier attempt that did get applied answers the
    retry as a duplicate (``ok``), never as invalid.
  * ``TimeoutError``, ``UnavailableError`` (the server may have lost a proposal in a
    leader change that a new leader still commits), ``ConnectionError`` (the client
    reports it only when its last attempt could not connect; an earlier attempt may have
    been sent), ``CorruptionError``, any other ``DougDBError`` and any unexpected
    exception are ``info``.
  * ``NotLeaderError`` is ``fail``: the server raises it only for a request it did not
    propose, and the client raises it only when no earlier attempt of the call may have
    been applied (a pinned client whose first attempt lost its connection and whose
    retry met a node that no longer leads raises ``TimeoutError`` instead).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from typing import Any, Optional, TypeVar

from ..errors import InvalidArgumentError, NotLeaderError
from ._ops import Op

__all__ = ["READ_KINDS", "WRITE_KINDS", "Recorder", "classify"]

#: Kinds that change nothing: any error means they did not happen.
READ_KINDS = frozenset({"get", "scan"})
#: Kinds that may change state: errors are ``info`` unless certainly not applied.
WRITE_KINDS = frozenset({"put", "add", "cas", "delete"})

#: Write errors that certainly mean "not applied" (see the module docstring).
_CERTAIN_WRITE_FAILURES: tuple[type[BaseException], ...] = (InvalidArgumentError, NotLeaderError)

T = TypeVar("T")


def classify(kind: str, error: BaseException) -> str:
    """``"fail"`` or ``"info"`` for a call of ``kind`` that raised ``error``."""
    if kind in READ_KINDS:
        return "fail"
    if kind not in WRITE_KINDS:
        raise ValueError(f"unknown operation kind {kind!r}")
    if isinstance(error, _CERTAIN_WRITE_FAILURES):
        return "fail"
    return "info"


def _describe(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else ""
    if len(text) > 200:
        text = text[:197] + "..."
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class Recorder:
    """A thread-safe history of calls. ``clock`` returns monotonic nanoseconds (injected
    by the machinery's own tests)."""

    def __init__(self, clock: Callable[[], int] = time.monotonic_ns) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._ops: list[Op] = []
        self._open: dict[int, Op] = {}  # process -> its outstanding call

    def invoke(
        self,
        process: int,
        kind: str,
        key: Optional[bytes],
        *,
        value: Optional[bytes] = None,
        expected: Optional[bytes] = None,
        consistency: str = "strong",
        start: Optional[bytes] = None,
        end: Optional[bytes] = None,
    ) -> Op:
        """Records the invocation of a call; complete it with :meth:`ok`, :meth:`fail`,
        :meth:`info` or :meth:`error`. A process has at most one call outstanding."""
        if kind not in READ_KINDS and kind not in WRITE_KINDS:
            raise ValueError(f"unknown operation kind {kind!r}")
        with self._lock:
            if process in self._open:
                raise RuntimeError(
                    f"process {process} invoked {kind} while its "
                    f"{self._open[process].describe()} is outstanding"
                )
            op = Op(
                process=process,
                kind=kind,  # type: ignore[arg-type]
                key=key,
                value=value,
                expected=expected,
                consistency=consistency,  # type: ignore[arg-type]
                start=start,
                end=end,
                invoke=self._clock(),
            )
            self._ops.append(op)
            self._open[process] = op
            return op

    def _complete(
        self, op: Op, status: str, result: Any, error: Optional[str], timed: bool
    ) -> Op:
        with self._lock:
            if self._open.get(op.process) is not op:
                raise RuntimeError(f"{op.describe()} is not outstanding")
            del self._open[op.process]
            op.status = status  # type: ignore[assignment]
            op.result = result
            op.error = error
            # An info op may take effect at any later time: it has no completion.
            op.complete = self._clock() if timed else None
            return op

    def ok(self, op: Op, result: Any = None) -> Op:
        """The call returned ``result``."""
        return self._complete(op, "ok", result, None, True)

    def fail(self, op: Op, error: str) -> Op:
        """The call certainly did not happen."""
        return self._complete(op, "fail", None, error, True)

    def info(self, op: Op, error: str) -> Op:
        """The call's outcome is unknown."""
        return self._complete(op, "info", None, error, False)

    def error(self, op: Op, error: BaseException) -> Op:
        """The call raised ``error``: ``fail`` or ``info`` as :func:`classify` says."""
        if classify(op.kind, error) == "fail":
            return self.fail(op, _describe(error))
        return self.info(op, _describe(error))

    def call(
        self,
        process: int,
        kind: str,
        key: Optional[bytes],
        fn: Callable[[], T],
        **fields: Any,
    ) -> Op:
        """Invokes, runs ``fn()`` and completes the op with its result or its error.
        ``BaseException``\\ s that are not ``Exception`` (Ctrl-C) record ``info`` and
        propagate."""
        op = self.invoke(process, kind, key, **fields)
        try:
            result = fn()
        except Exception as err:  # noqa: BLE001 - classified: see the module docstring
            return self.error(op, err)
        except BaseException as err:
            self.info(op, _describe(err))
            raise
        return self.ok(op, result)

    def history(self) -> list[Op]:
        """A snapshot: copies of every op so far, in invocation order (calls still
        outstanding show ``info`` with no completion)."""
        with self._lock:
            out = []
            for op in self._ops:
                copy = dataclasses.replace(op)
                if op.process in self._open and self._open[op.process] is op:
                    copy.status = "info"
                    copy.complete = None
                    copy.error = copy.error or "still outstanding"
                out.append(copy)
            return out

    def __len__(self) -> int:
        with self._lock:
            return len(self._ops)
