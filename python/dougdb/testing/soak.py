"""Soak: a seeded random mix of every fault and workload, for as long as asked.

``python -m dougdb.testing.soak --minutes 30 --seed 42`` (``make soak MINUTES=30
SEED=42``) starts a local cluster and runs back-to-back segments until the time is up:
each segment draws a workload (registers, a set across every shard, or registers plus
minority probes) and runs it under a nemesis with every fault kind, then heals and
judges it (see :mod:`dougdb.testing.runner`). Segments keep each history small enough
for the linearizability checker to finish.

It writes ``report.json`` (every segment's report; the full history of a failed one)
and ``summary.txt`` into the directory it prints, and exits 1 on the first segment with
a violation (keeping the cluster's data dir and logs there), 0 otherwise. The seed
fixes every segment's workload, schedule and choices; rerun it to replay.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from typing import Any, Optional

from ..cluster import LocalCluster
from .nemesis import FAULTS, Nemesis
from .runner import RunReport, run
from .workload import Combined, MinorityWrites, RegisterWorkload, SetWorkload, Workload

__all__ = ["main", "soak"]


def _segment_workload(rng: random.Random, nemesis: Nemesis) -> Workload:
    choice = rng.choice(["register", "set", "register+minority"])
    if choice == "register":
        return RegisterWorkload(keys=rng.choice([4, 8, 16]), processes=rng.choice([3, 4, 6]))
    if choice == "set":
        return SetWorkload(processes=rng.choice([3, 4]))
    return Combined(RegisterWorkload(keys=8, processes=4), MinorityWrites(nemesis))


def soak(
    minutes: float,
    seed: int,
    out_dir: str,
    *,
    nodes: int = 5,
    shards: int = 3,
    segment_seconds: float = 30.0,
    log: Any = print,
) -> bool:
    """Runs the soak; writes ``report.json`` and ``summary.txt`` into ``out_dir``;
    whether every segment was free of violations."""
    os.makedirs(out_dir, exist_ok=True)
    rng = random.Random(f"soak/{seed}")
    data_dir = os.path.join(out_dir, "cluster")
    cluster = LocalCluster(
        nodes=nodes, shards=shards, data_dir=data_dir,
        election_timeout_ms=(150, 300), snapshot_entries=rng.choice([None, 64, 512]),
    )
    cluster.start()
    end = time.monotonic() + minutes * 60.0
    reports: list[RunReport] = []
    errors: list[str] = []
    ok = True
    try:
        while ok and time.monotonic() + 5.0 < end:
            seg_seed = rng.getrandbits(32)
            seconds = min(segment_seconds, end - time.monotonic())
            nemesis = Nemesis(cluster, faults=FAULTS, interval=(0.2, 1.5), hold=(0.3, 2.5))
            workload = _segment_workload(rng, nemesis)
            try:
                report = run(cluster, workload, nemesis, seconds=seconds, seed=seg_seed)
            except Exception as err:  # noqa: BLE001 - a node that cannot restart, a crashed worker
                log(f"segment {len(reports) + 1} (seed {seg_seed}) could not finish: "
                    f"{type(err).__name__}: {err}")
                errors.append(f"segment seed {seg_seed}: {type(err).__name__}: {err}")
                ok = False
                break
            reports.append(report)
            ok = report.ok
            log(f"segment {len(reports)} (seed {seg_seed}): "
                + ("ok" if ok else f"{len(report.violations())} violation(s)")
                + f", {sum(report.totals().values())} ops, {len(report.timeline)} faults")
            _write(out_dir, seed, minutes, reports, errors)
    finally:
        cluster.stop()
        _write(out_dir, seed, minutes, reports, errors)
    if ok:
        shutil.rmtree(data_dir, ignore_errors=True)
    return ok


def _write(
    out_dir: str, seed: int, minutes: float, reports: list[RunReport], errors: list[str]
) -> None:
    ok = all(r.ok for r in reports) and not errors
    doc = {
        "seed": seed,
        "minutes": minutes,
        "ok": ok,
        "errors": errors,
        "segments": [r.to_dict(include_history=not r.ok) for r in reports],
    }
    tmp = os.path.join(out_dir, "report.json.tmp")
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(tmp, os.path.join(out_dir, "report.json"))
    totals = {"ok": 0, "fail": 0, "info": 0}
    faults = 0
    for r in reports:
        for k, v in r.totals().items():
            totals[k] = totals.get(k, 0) + v
        faults += len(r.timeline)
    head = [
        (
            f"dougdb soak: seed {seed}, {minutes:g} min asked, {len(reports)} segments, "
            f"{faults} faults, ops {totals['ok']} ok / {totals['fail']} fail / "
            f"{totals['info']} info"
        ),
        (
            f"RESULT: {'OK' if ok else 'VIOLATIONS'} (replay: make soak "
            f"MINUTES={minutes:g} SEED={seed})"
        ),
        *[f"ERROR: {e}" for e in errors],
        "",
    ]
    body = [f"== segment {i + 1}\n{r.summary()}\n" for i, r in enumerate(reports)]
    with open(os.path.join(out_dir, "summary.txt"), "w") as f:
        f.write("\n".join(head + body))


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m dougdb.testing.soak", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=10.0, help="how long (default 10)")
    p.add_argument("--seed", type=int, default=None, help="replay this seed (default: new)")
    p.add_argument("--out", default=None, help="report directory (default: a new temp dir)")
    p.add_argument("--nodes", type=int, default=5)
    p.add_argument("--shards", type=int, default=3)
    p.add_argument("--segment-seconds", type=float, default=30.0,
                   help="length of one judged segment (default 30)")
    args = p.parse_args(argv)
    if args.minutes <= 0 or args.nodes < 3 or args.shards < 1 or args.segment_seconds < 5:
        p.error("need --minutes > 0, --nodes >= 3, --shards >= 1, --segment-seconds >= 5")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    out = args.out or tempfile.mkdtemp(prefix=f"dougdb-soak-{seed}-")
    print(f"soak: seed {seed}, {args.minutes:g} min, {args.nodes} nodes x {args.shards} "
          f"shards; report: {out}/report.json, summary: {out}/summary.txt", flush=True)
    ok = soak(args.minutes, seed, out, nodes=args.nodes, shards=args.shards,
              segment_seconds=args.segment_seconds,
              log=lambda m: print(m, flush=True))
    print(f"soak: {'OK' if ok else 'VIOLATIONS FOUND'}; summary: {out}/summary.txt; "
          f"report: {out}/report.json" + ("" if ok else f"; cluster data and logs: {out}/cluster"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
