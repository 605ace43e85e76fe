"""Probing the minority side of a partition (see :mod:`dougdb.testing.workload`)."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any, Callable, Optional

from ..client import Client
from ..errors import DougDBError
from ._ops import Op
from ._worker import Worker, Workload
from .history import Recorder

__all__ = ["MinorityWrites"]


class MinorityWrites(Workload):
    """Writes and strong reads through clients pinned to the nodes ``nemesis`` has cut
    off in a minority (isolated, or the smaller half), while it does. :meth:`check`:
    no such call that started after the partition was in force and ended before it was
    healed was acknowledged. ``probes`` counts those calls (0 means nothing was tested).
    Each worker makes at most one call per ``pace`` seconds: a pinned follower refuses
    at once, and every refused write is an ``info``. Each write goes to a fresh key (and
    each read to the key of the worker's previous write): many ``info`` writes on one
    key, none of them ever read, make the checker's search exponential.
    """

    name = "minority"

    def __init__(self, nemesis: Any, processes: int = 1, *, timeout: float = 1.0,
                 pace: float = 0.1, ops_per_process: int = 100_000) -> None:
        super().__init__(processes, ops_per_process=ops_per_process, timeout=timeout)
        self.nemesis = nemesis
        self.pace = pace
        self._cluster: Any = None
        self._sent: list[tuple[int, int, int, Any]] = []  # process, invoke, node, event
        self._lock = threading.Lock()
        self.probes = 0

    def start(self, cluster: Any, recorder: Recorder, **kw: Any) -> list[threading.Thread]:
        self._cluster = cluster
        self._sent = []
        return super().start(cluster, recorder, **kw)

    def client_for(self, cluster: Any, index: int) -> Callable[[], Client]:
        return lambda: cluster.client(timeout=self.timeout)  # unused: pinned per node

    def prefix(self) -> bytes:
        """Every key this workload writes starts with it."""
        return self.tag + b"/m/"

    def final_keys(self, history: Sequence[Op]) -> list[bytes]:
        p = self.prefix()
        return sorted({op.key for op in history if op.key is not None and op.key.startswith(p)
                       and op.kind == "put" and op.status != "fail"})

    def worker(self, w: Worker) -> None:
        clients: dict[int, Client] = {}
        last = self.prefix() + b"%d-0" % w.process  # the key of the previous write
        try:
            while w.running():
                found = self.nemesis.wait_minority(timeout=0.2)
                if found is None:
                    continue
                event, nodes = found
                node = w.rng.choice(sorted(nodes))
                if node not in clients:
                    try:
                        clients[node] = self._cluster.client(node=node, timeout=self.timeout)
                    except DougDBError:
                        w.stop.wait(0.05)  # a schedule: back off before reconnecting
                        continue
                c = clients[node]
                w.done += 1
                if w.rng.random() < 0.6:
                    value = w.unique()
                    last = key = self.prefix() + b"%d-%d" % (w.process, w.done)
                    op = w.recorder.call(w.process, "put", key, partial(c.put, key, value),
                                         value=value)
                else:
                    op = w.recorder.call(w.process, "get", last, partial(c.get, last))
                with self._lock:
                    self._sent.append((op.process, op.invoke, node, event))
                w.stop.wait(self.pace)  # the probe's schedule
        finally:
            for c in clients.values():
                c.close()

    def check(self, history: Sequence[Op], final: Mapping[bytes, Optional[bytes]]) -> list[str]:
        by_id = {(op.process, op.invoke): op for op in history}
        out: list[str] = []
        self.probes = 0
        for process, invoke, node, event in self._sent:
            op = by_id.get((process, invoke))
            if op is None or event.started_ns is None or event.healed_ns is None:
                continue
            inside = op.invoke >= event.started_ns and (
                op.complete is None or op.complete <= event.healed_ns
            )
            if not inside:
                continue
            self.probes += 1
            if op.status == "ok":
                out.append(f"node {node} was in the minority ({event.describe()}) and "
                           f"acknowledged {op.describe()}")
        return out
