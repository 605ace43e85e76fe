"""The measuring and reporting halves of ``scripts/bench-compare.sh`` written in Python.

``report --dir D``: combines the JSON rows ``load --json`` wrote (etcd-<r>.json,
dougdb-<r>.json, shards-<n>.json, rust-put1.json) and ``python.json`` into the tables
the script prints. Standard library only.

``python-client --endpoints E``: run with the repository's ``.venv`` Python; measures
``dougdb.Client`` on a running cluster (the single-client put loop, and ``put_many`` of
1,000 pairs against 1,000 ``put`` calls) and writes ``python.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

Row = dict[str, Any]

OPS = ("put", "get-strong", "get-eventual")
#: Keys like the Rust workload's: ``key`` and 13 digits, 16 bytes.
KEY_FORMAT = b"key%013d"
VALUE_BYTES = 256
#: Pairs per batch in the put_many comparison.
BATCH = 1000
#: Timed repetitions of each batch variant (alternating); the median is reported.
BATCH_REPEATS = 3


# ---- python-client ---------------------------------------------------------------------


def _quantile(sorted_ns: list[int], q: float) -> float:
    """Nearest-rank q-quantile in microseconds; 0.0 when empty."""
    if not sorted_ns:
        return 0.0
    rank = max(0, min(len(sorted_ns) - 1, int(q * len(sorted_ns) + 0.5) - 1))
    return sorted_ns[rank] / 1000.0


def measure_python(endpoints: str, seconds: float, keyspace: int, out: Path) -> None:
    """Times the Python client on the cluster at ``endpoints`` and writes ``out``."""
    import dougdb  # the .venv's package: only this subcommand needs it

    rng = random.Random(0xD096)
    value = rng.randbytes(VALUE_BYTES)
    with dougdb.connect(endpoints) as db:
        for i in range(200):  # warm-up: connections, leader cache
            db.put(KEY_FORMAT % i, value)
        latencies: list[int] = []
        t_start = time.perf_counter()
        end = t_start + seconds
        while time.perf_counter() < end:
            key = KEY_FORMAT % rng.randrange(keyspace)
            t0 = time.perf_counter_ns()
            db.put(key, value)
            latencies.append(time.perf_counter_ns() - t0)
        elapsed = time.perf_counter() - t_start
        latencies.sort()

        items = [(KEY_FORMAT % i, value) for i in range(BATCH)]
        many_s: list[float] = []
        singles_s: list[float] = []
        for _ in range(BATCH_REPEATS):
            t0 = time.perf_counter()
            db.put_many(items)
            many_s.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            for k, v in items:
                db.put(k, v)
            singles_s.append(time.perf_counter() - t0)
    result = {
        "ops": len(latencies),
        "ops_per_sec": len(latencies) / elapsed,
        "p50_us": _quantile(latencies, 0.50),
        "p99_us": _quantile(latencies, 0.99),
        "batch": BATCH,
        "put_many_s": statistics.median(many_s),
        "puts_s": statistics.median(singles_s),
    }
    out.write_text(json.dumps(result, indent=1) + "\n")


# ---- report ----------------------------------------------------------------------------


def _load(path: Path) -> list[Row]:
    return json.loads(path.read_text()) if path.exists() else []


def _best(rounds: list[list[Row]], op: str, clients: int) -> tuple[Row | None, float]:
    """The round with the most ops/s for (op, clients), and the spread of ops/s across
    rounds ((max - min) / max)."""
    rows = [r for rs in rounds for r in rs if r["op"] == op and r["clients"] == clients]
    if not rows:
        return None, 0.0
    best = max(rows, key=lambda r: r["ops_per_sec"])
    top = best["ops_per_sec"]
    low = min(r["ops_per_sec"] for r in rows)
    return best, (top - low) / top if top > 0 else 0.0


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b > 0 else "-"


def _errors(row: Row) -> str:
    return "*" if row["errors"] else ""


def report_compare(
    d: Path, rounds: int, etcd_version: str, seconds: int, keyspace: int, note: str
) -> None:
    etcd = [_load(d / f"etcd-{r}.json") for r in range(1, rounds + 1)]
    doug = [_load(d / f"dougdb-{r}.json") for r in range(1, rounds + 1)]
    print(
        f"DougDB vs etcd {etcd_version}: 3 members each on 127.0.0.1 sharing this machine's"
        f" CPUs with the load generator, fsync on, 16 B keys, {VALUE_BYTES} B values,"
        f" {keyspace} keys pre-loaded, {seconds} s per row."
    )
    print(
        f"Best of {rounds} interleaved rounds by ops/s; p50/p99 are from that same round."
        " Ratios are DougDB/etcd: ops/s above 1 and latency below 1 favour DougDB."
    )
    if note:
        print(note)
    head = (
        f"{'op':<13}{'clients':>7} | {'etcd ops/s':>10}{'p50 us':>9}{'p99 us':>9} |"
        f" {'dougdb ops/s':>12}{'p50 us':>9}{'p99 us':>9} | {'ops/s x':>7}{'p50 x':>7}{'p99 x':>7}"
    )
    print(head)
    print("-" * len(head))
    clients = sorted({r["clients"] for rs in etcd + doug for r in rs})
    spread = {"etcd": 0.0, "dougdb": 0.0}
    errors = False
    for op in OPS:
        for c in clients:
            e, e_spread = _best(etcd, op, c)
            g, g_spread = _best(doug, op, c)
            if e is None or g is None:
                continue
            spread["etcd"] = max(spread["etcd"], e_spread)
            spread["dougdb"] = max(spread["dougdb"], g_spread)
            errors = errors or bool(e["errors"] or g["errors"])
            print(
                f"{op:<13}{c:>7} | {e['ops_per_sec']:>10.0f}{e['p50_us']:>9.0f}{e['p99_us']:>9.0f} |"
                f" {g['ops_per_sec']:>12.0f}{g['p50_us']:>9.0f}{g['p99_us']:>9.0f} |"
                f" {_ratio(g['ops_per_sec'], e['ops_per_sec']):>7}"
                f"{_ratio(g['p50_us'], e['p50_us']):>7}{_ratio(g['p99_us'], e['p99_us']):>7}"
                f"{_errors(e)}{_errors(g)}"
            )
    print(
        f"Largest round-to-round spread of ops/s in a row: etcd {spread['etcd']:.0%},"
        f" DougDB {spread['dougdb']:.0%}."
    )
    if errors:
        print("* that row had failed operations (see the raw rows).")


def report_shards(d: Path) -> None:
    files = sorted(d.glob("shards-*.json"), key=lambda p: int(p.stem.split("-")[1]))
    rows = [r for f in files for r in _load(f)]
    if not rows:
        return
    print()
    print("DougDB put throughput by shard count (every node a voter of every shard):")
    print(f"{'shards':>6}{'clients':>8}{'ops/s':>10}{'p50 us':>9}{'p99 us':>9}{'vs 1 shard':>11}")
    base = {r["clients"]: r["ops_per_sec"] for r in rows if r["shards"] == 1}
    for r in sorted(rows, key=lambda r: (r["clients"], r["shards"])):
        b = base.get(r["clients"], 0.0)
        print(
            f"{r['shards']:>6}{r['clients']:>8}{r['ops_per_sec']:>10.0f}{r['p50_us']:>9.0f}"
            f"{r['p99_us']:>9.0f}{_ratio(r['ops_per_sec'], b):>11}{_errors(r)}"
        )


def report_python(d: Path) -> None:
    py_path = d / "python.json"
    rust = _load(d / "rust-put1.json")
    if not py_path.exists() or not rust:
        return
    py = json.loads(py_path.read_text())
    r = rust[0]
    print()
    print(
        "Python client (extension built with maturin develop --release) vs Rust client,"
        " one DougDB cluster, 1 client, closed-loop put:"
    )
    print(f"{'client':<8}{'ops/s':>8}{'p50 us':>9}{'p99 us':>9}")
    print(f"{'rust':<8}{r['ops_per_sec']:>8.0f}{r['p50_us']:>9.0f}{r['p99_us']:>9.0f}")
    print(f"{'python':<8}{py['ops_per_sec']:>8.0f}{py['p50_us']:>9.0f}{py['p99_us']:>9.0f}")
    print(
        f"Python/Rust p50: {_ratio(py['p50_us'], r['p50_us'])}"
        f" ({py['p50_us'] - r['p50_us']:+.0f} us per call)."
    )
    print(
        f"put_many of {py['batch']} pairs: {py['put_many_s'] * 1e3:.1f} ms;"
        f" {py['batch']} put calls: {py['puts_s'] * 1e3:.1f} ms"
        f" (x{_ratio(py['puts_s'], py['put_many_s'])}; median of {BATCH_REPEATS})."
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="print the combined tables")
    rep.add_argument("--dir", type=Path, required=True)
    rep.add_argument("--rounds", type=int, default=2)
    rep.add_argument("--etcd-version", default="?")
    rep.add_argument("--seconds", type=int, default=5)
    rep.add_argument("--keyspace", type=int, default=100_000)
    rep.add_argument("--note", default="", help="a line printed under the heading")
    py = sub.add_parser("python-client", help="measure dougdb.Client (run with .venv)")
    py.add_argument("--endpoints", required=True)
    py.add_argument("--seconds", type=float, default=5.0)
    py.add_argument("--keyspace", type=int, default=100_000)
    py.add_argument("--json", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "python-client":
        measure_python(args.endpoints, args.seconds, args.keyspace, args.json)
    else:
        report_compare(
            args.dir, args.rounds, args.etcd_version, args.seconds, args.keyspace, args.note
        )
        report_shards(args.dir)
        report_python(args.dir)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
