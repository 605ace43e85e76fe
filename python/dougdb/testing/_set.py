"""The set workload: unique inserts and scans across every shard (see
:mod:`dougdb.testing.workload`)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Optional

from ..client import Client
from ._ops import Op
from ._worker import Worker, Workload
from .history import Recorder

__all__ = ["SetWorkload", "set_violations"]


def _put(c: Client, key: bytes, value: bytes) -> None:
    c.put(key, value)


class SetWorkload(Workload):
    """Unique inserts (``add``: a put of a fresh key) and scans of the whole set, which
    spans every shard. :meth:`check`: a strong scan returns every insert acknowledged
    before it started, with its value, and nothing that was never inserted; the final
    scan holds every acknowledged insert."""

    name = "set"

    def __init__(
        self,
        processes: int = 4,
        *,
        scan_weight: float = 0.1,
        scan_consistency: str = "strong",
        ops_per_process: int = 100_000,
        timeout: float = 2.0,
    ) -> None:
        super().__init__(processes, ops_per_process=ops_per_process, timeout=timeout)
        if not 0 <= scan_weight < 1:
            raise ValueError("scan_weight must be in [0, 1)")
        self.scan_weight = scan_weight
        self.scan_consistency = scan_consistency

    def bounds(self) -> tuple[bytes, bytes]:
        """The set's key range ``[start, end)``."""
        return self.tag + b"/s/", self.tag + b"/s0"  # "0" follows "/"

    def worker(self, w: Worker) -> None:
        start, end = self.bounds()
        n = 0
        while w.running():
            if w.rng.random() < self.scan_weight:
                w.call(
                    "scan", None,
                    lambda c: c.scan(start, end, consistency=self.scan_consistency),
                    start=start, end=end, consistency=self.scan_consistency,
                )
            else:
                n += 1
                key, value = start + b"%03d-%07d" % (w.process, n), w.unique()
                w.call("add", key, partial(_put, key=key, value=value), value=value)

    def final_keys(self, history: Sequence[Op]) -> list[bytes]:
        lo, hi = self.bounds()
        return sorted(
            {op.key for op in history if op.kind == "add" and op.status != "fail"
             and op.key is not None and lo <= op.key < hi}
        )

    def final_reads(
        self, client: Client, recorder: Recorder, process: int, history: Sequence[Op],
        deadline: float,
    ) -> dict[bytes, Optional[bytes]]:
        """One strong scan of the set (retried until ``deadline``); every inserted key
        maps to its scanned value or None."""
        start, end = self.bounds()
        while time.monotonic() < deadline:
            left = deadline - time.monotonic()
            call = partial(client.scan, start, end, timeout=max(0.2, min(left, 10.0)))
            op = recorder.call(process, "scan", None, call, start=start, end=end)
            if op.status == "ok":
                rows = dict(op.result)
                return {k: rows.get(k) for k in self.final_keys(history)}
        return {}

    def check(self, history: Sequence[Op], final: Mapping[bytes, Optional[bytes]]) -> list[str]:
        return set_violations(history, *self.bounds())


def set_violations(history: Sequence[Op], start: bytes, end: bytes) -> list[str]:
    """Set-workload violations in ``history`` for keys in ``[start, end)``."""
    adds = [op for op in history if op.kind == "add" and op.key is not None
            and start <= op.key < end]
    written = {op.key: op for op in adds if op.status != "fail"}
    acked = sorted((op for op in adds if op.status == "ok"), key=lambda o: o.complete or 0)
    out: list[str] = []
    for scan in history:
        if scan.kind != "scan" or scan.status != "ok" or scan.start != start:
            continue
        rows = dict(scan.result or [])
        for key, value in rows.items():
            add = written.get(key)
            if add is None or add.value != value or add.invoke > (scan.complete or 0):
                out.append(f"scan returned {key!r}={value!r}, never inserted as such: "
                           f"{scan.describe()}")
        if scan.consistency != "strong":
            continue
        for add in acked:
            if (add.complete or 0) >= scan.invoke:
                break
            if rows.get(add.key) != add.value:
                out.append(f"scan missed an insert acknowledged before it started: "
                           f"{add.describe()} not in {scan.describe()}")
    return out
