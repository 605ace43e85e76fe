"""Workloads: worker threads ("processes") that drive a cluster and record a history.

Every worker has its own seeded RNG (``random.Random("<seed>/<workload>/<process>")``),
its own :class:`~dougdb.Client` with a per-call timeout, and stops by itself after
``ops_per_process`` calls, at the run's deadline, or when the run's stop event is set.
Values are globally unique (they name the run, the process and a counter), so the
checker can tell every write apart: a value read names the one call that wrote it.

- :class:`RegisterWorkload`: strong and eventual ``get``, ``put`` and ``cas`` on a small
  key set (optionally readers pinned to given nodes).
- :class:`SetWorkload`: unique inserts (``add``) and scans across every shard; checks
  that a scan sees every insert acknowledged before it started.
- :class:`MinorityWrites`: writes and strong reads through clients pinned to the nodes a
  nemesis has cut off in a minority; checks that none is acknowledged.
- :class:`Combined`: several workloads at once, in one history.

Example::

    from dougdb.testing.history import Recorder
    from dougdb.testing.workload import RegisterWorkload

    rec = Recorder()
    RegisterWorkload(keys=8, processes=4).run(cluster, rec, seed=7, seconds=5)
    history = rec.history()
"""
from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Callable, Optional

from ..client import Client
from ._minority import MinorityWrites
from ._ops import Op
from ._set import SetWorkload, set_violations
from ._worker import Worker, Workload, read_until_ok
from .history import Recorder

__all__ = [
    "Combined",
    "MinorityWrites",
    "RegisterWorkload",
    "SetWorkload",
    "Worker",
    "Workload",
    "cas_false_but_applied",
    "read_until_ok",
    "set_violations",
]


class RegisterWorkload(Workload):
    """Reads and writes on ``keys`` registers.

    ``weights``: relative frequency of ``get`` (strong), ``eventual`` (eventual get),
    ``put``, ``cas`` and ``delete``. A ``cas`` expects the value this worker last saw for
    the key (absent when it knows nothing), so chains of successful swaps form; a swap
    answered ``False`` that took effect anyway (a double application) is caught by the
    checker and by :meth:`check`. ``pinned_readers``: node ids; one more worker per entry
    doing strong and eventual reads through a client pinned to that node (stale reads
    from a deposed leader show up as violations).
    """

    name = "register"

    def __init__(
        self,
        keys: int = 8,
        processes: int = 4,
        *,
        weights: Optional[Mapping[str, float]] = None,
        pinned_readers: Sequence[int] = (),
        ops_per_process: int = 100_000,
        timeout: float = 2.0,
    ) -> None:
        super().__init__(processes, ops_per_process=ops_per_process, timeout=timeout)
        if keys < 1:
            raise ValueError("keys must be >= 1")
        self.key_count = keys
        self.weights = dict(weights or {"get": 3, "eventual": 1, "put": 2, "cas": 3})
        unknown = set(self.weights) - {"get", "eventual", "put", "cas", "delete"}
        if unknown or not any(v > 0 for v in self.weights.values()):
            raise ValueError(f"bad weights {self.weights!r}")
        self.pinned_readers = list(pinned_readers)

    @property
    def process_count(self) -> int:
        return self.processes + len(self.pinned_readers)

    def client_for(self, cluster: Any, index: int) -> Callable[[], Client]:
        if index >= self.processes:
            node = self.pinned_readers[index - self.processes]
            return lambda: cluster.client(node=node, timeout=self.timeout)
        return super().client_for(cluster, index)

    def keys(self) -> list[bytes]:
        return [b"%s/r%02d" % (self.tag, i) for i in range(self.key_count)]

    def final_keys(self, history: Sequence[Op]) -> list[bytes]:
        return self.keys()

    def worker(self, w: Worker) -> None:
        keys = self.keys()
        reader = w.index >= self.processes  # a pinned reader
        kinds = ["get", "eventual"] if reader else list(self.weights)
        weights = [1.0, 1.0] if reader else [self.weights[k] for k in kinds]
        known: dict[bytes, Optional[bytes]] = {}
        while w.running():
            key = w.rng.choice(keys)
            kind = w.rng.choices(kinds, weights)[0]
            op = self._one(w, kind, key, known)
            if op is None:
                continue
            # What this worker knows of the key, for its next cas.
            if op.status != "ok":
                known.pop(key, None)
            elif op.kind == "get" or op.kind == "put":
                known[key] = op.result if op.kind == "get" else op.value
            elif op.kind == "cas":
                if op.result:
                    known[key] = op.value
                else:
                    known.pop(key, None)
            elif op.kind == "delete":
                known[key] = None

    def _one(
        self, w: Worker, kind: str, key: bytes, known: dict[bytes, Optional[bytes]]
    ) -> Optional[Op]:
        if kind == "get":
            return w.call("get", key, lambda c: c.get(key))
        if kind == "eventual":
            return w.call(
                "get", key, lambda c: c.get(key, consistency="eventual"),
                consistency="eventual",
            )
        if kind == "put":
            value = w.unique()
            return w.call("put", key, lambda c: c.put(key, value), value=value)
        if kind == "delete":
            return w.call("delete", key, lambda c: c.delete(key))
        if key not in known:  # learn the value first: a cas on a guess mostly fails
            return w.call("get", key, lambda c: c.get(key))
        expected, new = known[key], w.unique()
        return w.call(
            "cas", key, lambda c: c.cas(key, expected, new), value=new, expected=expected
        )

    def check(self, history: Sequence[Op], final: Mapping[bytes, Optional[bytes]]) -> list[str]:
        """A ``cas`` answered ``False`` whose new value was read anyway was applied
        although the client was told it was not (e.g. applied twice, answered by the
        second application)."""
        return cas_false_but_applied(history, final)


def cas_false_but_applied(
    history: Iterable[Op], final: Mapping[bytes, Optional[bytes]]
) -> list[str]:
    """Violations: ``cas`` calls answered ``False`` whose (unique) new value was later
    read or is the final value."""
    refused: dict[tuple[Optional[bytes], bytes], Op] = {}
    seen: set[tuple[Optional[bytes], bytes]] = set()
    for op in history:
        if op.kind == "cas" and op.status == "ok" and op.result is False and op.value:
            refused[(op.key, op.value)] = op
        if op.kind == "get" and op.status == "ok" and op.result is not None:
            seen.add((op.key, op.result))
    seen.update((k, v) for k, v in final.items() if v is not None)
    return [
        f"cas answered False but its value was read: {op.describe()}"
        for kv, op in refused.items()
        if kv in seen
    ]


class Combined(Workload):
    """Several workloads at once, with consecutive process ids, in one history."""

    name = "combined"

    def __init__(self, *workloads: Workload) -> None:
        if not workloads:
            raise ValueError("Combined needs at least one workload")
        self.workloads = list(workloads)
        super().__init__(1)

    @property
    def process_count(self) -> int:
        return sum(w.process_count for w in self.workloads)

    def start(
        self, cluster: Any, recorder: Recorder, *, seed: int, deadline: float,
        stop: threading.Event, first_process: int = 0,
    ) -> list[threading.Thread]:
        threads = []
        for w in self.workloads:
            threads += w.start(cluster, recorder, seed=seed, deadline=deadline, stop=stop,
                               first_process=first_process)
            first_process += w.process_count
        return threads

    def worker(self, w: Worker) -> None:
        # `start` runs each part's own workers; a single worker of the whole (index over
        # the consecutive processes) runs the loop of the part it falls in.
        index = w.index
        for part in self.workloads:
            if index < part.process_count:
                w.index, w.tag = index, part.tag
                part.worker(w)
                return
            index -= part.process_count
        raise IndexError(f"worker index {w.index} out of {self.process_count} processes")

    def raise_errors(self) -> None:
        for w in self.workloads:
            w.raise_errors()

    def final_keys(self, history: Sequence[Op]) -> list[bytes]:
        return [k for w in self.workloads for k in w.final_keys(history)]

    def final_reads(
        self, client: Client, recorder: Recorder, process: int, history: Sequence[Op],
        deadline: float,
    ) -> dict[bytes, Optional[bytes]]:
        final: dict[bytes, Optional[bytes]] = {}
        for w in self.workloads:
            final.update(w.final_reads(client, recorder, process, history, deadline))
        return final

    def check(self, history: Sequence[Op], final: Mapping[bytes, Optional[bytes]]) -> list[str]:
        return [v for w in self.workloads for v in w.check(history, final)]
