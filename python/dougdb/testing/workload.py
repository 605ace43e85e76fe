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

import random
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, Optional

from ..client import Client
from ..errors import DougDBError
from ._ops import Op
from .history import Recorder

__all__ = [
    "Combined",
    "MinorityWrites",
    "RegisterWorkload",
    "SetWorkload",
    "Worker",
    "Workload",
    "read_until_ok",
]


@dataclass
class Worker:
    """One worker's state and bounds, handed to :meth:`Workload.worker`."""

    process: int
    #: The worker's index within its workload (0-based).
    index: int
    rng: random.Random
    recorder: Recorder
    stop: threading.Event
    deadline: float  # time.monotonic() at which the worker stops
    ops_max: int
    make_client: Callable[[], Client]
    #: A prefix naming the run, so values are unique across runs on one cluster.
    tag: bytes
    done: int = 0
    _client: Optional[Client] = field(default=None, repr=False)
    _counter: int = 0

    def running(self) -> bool:
        return (
            not self.stop.is_set()
            and self.done < self.ops_max
            and time.monotonic() < self.deadline
        )

    def client(self) -> Optional[Client]:
        """This worker's client, made on first use (None while no node can be reached;
        the worker then waits a poll period and tries again)."""
        if self._client is None:
            try:
                self._client = self.make_client()
            except DougDBError:
                self.stop.wait(0.05)  # a schedule: back off before reconnecting
                return None
        return self._client

    def unique(self) -> bytes:
        """A value no other call of any run writes."""
        self._counter += 1
        return b"%s/p%d/%d" % (self.tag, self.process, self._counter)

    def call(self, kind: str, key: Optional[bytes], fn: Callable[[Client], Any],
             **fields: Any) -> Optional[Op]:
        """Records ``fn(client)`` as one op (None when no client could be made)."""
        client = self.client()
        if client is None:
            return None
        self.done += 1
        return self.recorder.call(self.process, kind, key, lambda: fn(client), **fields)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def _put(c: Client, key: bytes, value: bytes) -> None:
    c.put(key, value)


def _run_tag(seed: int, name: str) -> bytes:
    return b"%s-%08x" % (name.encode(), random.Random(f"{seed}/{name}/tag").getrandbits(32))


class Workload:
    """Base class: ``processes`` worker threads each running :meth:`worker` until its
    bounds are reached. Subclasses set ``name`` and implement :meth:`worker`,
    :meth:`final_keys` and optionally :meth:`check`."""

    name = "workload"

    def __init__(
        self,
        processes: int = 4,
        *,
        ops_per_process: int = 100_000,
        timeout: float = 2.0,
    ) -> None:
        if processes < 1 or ops_per_process < 1 or timeout <= 0:
            raise ValueError("processes and ops_per_process must be >= 1, timeout > 0")
        self.processes = processes
        self.ops_per_process = ops_per_process
        self.timeout = timeout
        self.tag = b""
        self._errors: list[BaseException] = []

    @property
    def process_count(self) -> int:
        return self.processes

    def client_for(self, cluster: Any, index: int) -> Callable[[], Client]:
        """How worker ``index`` (0-based within this workload) makes its client."""
        return lambda: cluster.client(timeout=self.timeout)

    def prepare(self, seed: int) -> None:
        """Sets the run's tag (key prefix and value prefix) from the seed."""
        self.tag = _run_tag(seed, self.name)

    def start(
        self,
        cluster: Any,
        recorder: Recorder,
        *,
        seed: int,
        deadline: float,
        stop: threading.Event,
        first_process: int = 0,
    ) -> list[threading.Thread]:
        """Starts the workers (processes ``first_process ..``); returns their threads."""
        self.prepare(seed)
        self._errors = []
        threads = []
        for i in range(self.process_count):
            w = Worker(
                process=first_process + i,
                index=i,
                rng=random.Random(f"{seed}/{self.name}/{i}"),
                recorder=recorder,
                stop=stop,
                deadline=deadline,
                ops_max=self.ops_per_process,
                make_client=self.client_for(cluster, i),
                tag=self.tag,
            )
            t = threading.Thread(
                target=self._guarded, args=(w,), name=f"{self.name}-{w.process}", daemon=True
            )
            t.start()
            threads.append(t)
        return threads

    def _guarded(self, w: Worker) -> None:
        try:
            self.worker(w)
        except BaseException as err:  # noqa: BLE001 - a bug in the worker: re-raised by run()
            self._errors.append(err)
        finally:
            w.close()

    def raise_errors(self) -> None:
        """Re-raises the first exception a worker died of (a bug, not a DB error)."""
        if self._errors:
            raise RuntimeError(f"a {self.name} worker crashed: {self._errors[0]!r}") from (
                self._errors[0]
            )

    def run(
        self,
        cluster: Any,
        recorder: Recorder,
        *,
        seed: int,
        seconds: float,
        stop: Optional[threading.Event] = None,
    ) -> None:
        """Runs every worker to its bounds (blocking)."""
        stop = stop or threading.Event()
        threads = self.start(
            cluster, recorder, seed=seed, deadline=time.monotonic() + seconds, stop=stop
        )
        for t in threads:
            t.join()
        self.raise_errors()

    def worker(self, w: Worker) -> None:
        raise NotImplementedError

    def final_keys(self, history: Sequence[Op]) -> list[bytes]:
        """The keys the final read must cover."""
        raise NotImplementedError

    def final_reads(
        self, client: Client, recorder: Recorder, process: int, history: Sequence[Op],
        deadline: float,
    ) -> dict[bytes, Optional[bytes]]:
        """Reads every final key strongly (retrying until ``deadline``) and records each
        read; returns key -> value. A key that could not be read is left out."""
        final: dict[bytes, Optional[bytes]] = {}
        for key in self.final_keys(history):
            op = read_until_ok(client, recorder, process, key, deadline)
            if op is not None:
                final[key] = op.result
        return final

    def check(self, history: Sequence[Op], final: Mapping[bytes, Optional[bytes]]) -> list[str]:
        """Workload-specific violations, one line each (none by default)."""
        return []


def read_until_ok(
    client: Client, recorder: Recorder, process: int, key: bytes, deadline: float
) -> Optional[Op]:
    """A strong ``get`` of ``key``, recorded, retried until it succeeds or ``deadline``
    (``time.monotonic()``) passes; the ok op, or None."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        call = partial(client.get, key, timeout=max(0.2, min(left, 5.0)))
        op = recorder.call(process, "get", key, call)
        if op.status == "ok":
            return op


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


class MinorityWrites(Workload):
    """Writes and strong reads through clients pinned to the nodes ``nemesis`` has cut
    off in a minority (isolated, or the smaller half), while it does. :meth:`check`:
    no such call that started after the partition was in force and ended before it was
    healed was acknowledged. ``probes`` counts those calls (0 means nothing was tested).
    Each worker makes at most one call per ``pace`` seconds: a pinned follower refuses
    at once, and every refused write is an ``info`` the checker has to carry.
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

    def keys(self) -> list[bytes]:
        return [b"%s/m%d" % (self.tag, n.id) for n in self._cluster.nodes]

    def final_keys(self, history: Sequence[Op]) -> list[bytes]:
        return self.keys()

    def worker(self, w: Worker) -> None:
        clients: dict[int, Client] = {}
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
                c, key = clients[node], b"%s/m%d" % (self.tag, node)
                w.done += 1
                if w.rng.random() < 0.6:
                    value = w.unique()
                    op = w.recorder.call(w.process, "put", key, partial(c.put, key, value),
                                         value=value)
                else:
                    op = w.recorder.call(w.process, "get", key, partial(c.get, key))
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
