"""The machinery every workload shares: :class:`Worker` (one thread's state and bounds)
and :class:`Workload` (starting workers, final reads, checks). See
:mod:`dougdb.testing.workload` for the workloads themselves."""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, Optional

from ..client import Client
from ..errors import DougDBError
from ._ops import Op
from .history import Recorder

__all__ = ["Worker", "Workload", "read_until_ok", "run_tag"]


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


def run_tag(seed: int, name: str) -> bytes:
    return b"%s-%08x" % (name.encode(), random.Random(f"{seed}/{name}/tag").getrandbits(32))


class Workload(ABC):
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
        self.tag = run_tag(seed, self.name)

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

    @abstractmethod
    def worker(self, w: Worker) -> None:
        """One worker's loop: calls through ``w`` while ``w.running()``."""

    @abstractmethod
    def final_keys(self, history: Sequence[Op]) -> list[bytes]:
        """The keys the final read must cover."""

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
