"""``dougdb bench``: closed-loop load from N client threads over one shared ``Client``.

Each thread issues its next call as soon as the previous one answers (closed loop), so the
offered load adapts to the cluster. Every native call releases the GIL, so threads overlap
their waits. Latencies are kept per thread (no lock on the hot path) and merged at the end.
"""

from __future__ import annotations

import json
import os
import random
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, TextIO

from ._cli_fmt import render_table

__all__ = ["BenchConfig", "BenchResult", "run_bench", "percentile"]

OPS = ("put", "get", "get-eventual")


@dataclass
class BenchConfig:
    """What ``dougdb bench`` was asked to do."""

    op: str = "put"
    clients: int = 64
    seconds: float = 10.0
    value_size: int = 256
    keys: int = 10_000
    seed: int = 0


@dataclass
class BenchResult:
    """The outcome: counts, rate and latency percentiles in milliseconds."""

    op: str
    clients: int
    seconds: float
    ops: int
    errors: int
    ops_per_sec: float
    p50_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    seed: int
    error_samples: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(sorted_values: list[float], q: float) -> float:
    """The q-quantile (0..1) of already sorted values, nearest-rank; 0.0 when empty."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, int(q * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


def _key(i: int) -> bytes:
    return b"bench/%08d" % i


def _prepare(client: Any, config: BenchConfig, value: bytes) -> None:
    """Reads need data: write every key of the key space once, in batches."""
    batch = 256
    for start in range(0, config.keys, batch):
        end = min(config.keys, start + batch)
        client.put_many([(_key(i), value) for i in range(start, end)])


def _make_call(client: Any, config: BenchConfig, value: bytes) -> Callable[[int], Any]:
    if config.op == "put":
        return lambda i: client.put(_key(i), value)
    if config.op == "get":
        return lambda i: client.get(_key(i))
    return lambda i: client.get(_key(i), consistency="eventual")


def run_bench(
    client: Any,
    config: BenchConfig,
    progress: TextIO | None = sys.stderr,
    error_type: type[BaseException] = Exception,
) -> BenchResult:
    """Runs the load for ``config.seconds`` and returns the result.

    ``error_type`` is the exception counted as a failed call (``dougdb.DougDBError``); a
    failed call counts in ``errors`` and does not stop the run.
    """
    if config.op not in OPS:
        raise ValueError(f"--op must be one of {', '.join(OPS)}, not {config.op!r}")
    if config.clients < 1 or config.seconds <= 0 or config.keys < 1 or config.value_size < 0:
        raise ValueError("--clients and --keys must be >= 1, --seconds > 0, --value-size >= 0")
    value = random.Random(config.seed).randbytes(config.value_size)
    if config.op != "put":
        _prepare(client, config, value)
    call = _make_call(client, config, value)
    stop = threading.Event()
    latencies: list[list[float]] = [[] for _ in range(config.clients)]
    errors = [0] * config.clients
    samples: list[str] = []

    def worker(slot: int) -> None:
        rng = random.Random(config.seed * 1_000_003 + slot)
        mine = latencies[slot]
        while not stop.is_set():
            i = rng.randrange(config.keys)
            t0 = time.perf_counter()
            try:
                call(i)
            except error_type as e:  # counted, reported, the loop goes on
                errors[slot] += 1
                if len(samples) < 5:
                    samples.append(f"{type(e).__name__}: {e}")
                continue
            mine.append(time.perf_counter() - t0)

    threads = [
        threading.Thread(target=worker, args=(s,), name=f"bench-{s}", daemon=True)
        for s in range(config.clients)
    ]
    started = time.perf_counter()
    for t in threads:
        t.start()
    try:
        _show_progress(started, config.seconds, latencies, errors, progress)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30.0)
    elapsed = time.perf_counter() - started
    merged = sorted(x for per in latencies for x in per)
    ops = len(merged)
    ms = 1000.0
    return BenchResult(
        op=config.op,
        clients=config.clients,
        seconds=round(elapsed, 3),
        ops=ops,
        errors=sum(errors),
        ops_per_sec=round(ops / elapsed, 1) if elapsed > 0 else 0.0,
        p50_ms=round(percentile(merged, 0.50) * ms, 3),
        p99_ms=round(percentile(merged, 0.99) * ms, 3),
        p999_ms=round(percentile(merged, 0.999) * ms, 3),
        max_ms=round((merged[-1] if merged else 0.0) * ms, 3),
        seed=config.seed,
        error_samples=samples,
    )


def _show_progress(
    started: float,
    seconds: float,
    latencies: list[list[float]],
    errors: list[int],
    out: TextIO | None,
) -> None:
    """A one-line progress bar redrawn with ``\\r`` about 4 times a second until the end."""
    width = 30
    deadline = started + seconds
    tty = out is not None and hasattr(out, "isatty") and out.isatty()
    last_line = 0.0
    while True:
        now = time.perf_counter()
        if now >= deadline:
            break
        time.sleep(min(0.25, deadline - now))  # pacing the display, not synchronisation
        if out is None:
            continue
        now = time.perf_counter()
        if not tty and now - last_line < 1.0:
            continue
        last_line = now
        done = min(1.0, (now - started) / seconds)
        ops = sum(len(per) for per in latencies)
        rate = ops / max(1e-9, now - started)
        bar = "#" * int(done * width) + "." * (width - int(done * width))
        line = f"[{bar}] {done * 100:5.1f}%  {ops} ops  {rate:,.0f} ops/s  {sum(errors)} errors"
        out.write(("\r" + line) if tty else (line + "\n"))
        out.flush()
    if out is not None and tty:
        out.write("\n")
        out.flush()


def print_result(result: BenchResult, as_json: bool, out: TextIO = sys.stdout) -> None:
    """The final table, or one JSON object with ``--json``."""
    if as_json:
        out.write(json.dumps(result.to_dict(), sort_keys=True) + os.linesep)
        return
    headers = ("op", "clients", "seconds", "ops", "errors", "ops/s", "p50 ms", "p99 ms", "p999 ms")
    row = (
        result.op,
        result.clients,
        result.seconds,
        result.ops,
        result.errors,
        result.ops_per_sec,
        result.p50_ms,
        result.p99_ms,
        result.p999_ms,
    )
    out.write(render_table(headers, [row]) + "\n")
    for s in result.error_samples:
        out.write(f"error sample: {s}\n")
