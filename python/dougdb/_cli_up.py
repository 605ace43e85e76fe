"""``dougdb up``: a LocalCluster in the foreground with a live status table.

On a terminal the table is redrawn in place about once a second; when stdout is a pipe or a
file a table is printed only when it changes (leaders, roles, liveness), so logs stay short.
Ctrl-C or SIGTERM stops every node gracefully and exits 0.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from typing import Any

from ._cli_fmt import render_status, status_rows

__all__ = ["run_up"]

_CLEAR = "\x1b[H\x1b[2J"


class _Stop(Exception):
    """Raised from the SIGTERM handler to leave the refresh loop."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Stop()


def _shape(status: Any) -> list[tuple[Any, ...]]:
    """What makes a table worth printing again off a terminal: everything but indexes."""
    return [row[:5] for row in status_rows(status)]


def run_up(args: argparse.Namespace) -> int:
    """Starts the cluster, shows it until stopped, stops it. Returns the exit status."""
    import dougdb  # noqa: PLC0415

    kwargs: dict[str, Any] = {"nodes": args.nodes, "shards": args.shards, "facade": args.facade}
    if args.data_dir:
        kwargs["data_dir"] = args.data_dir
    if args.routing:
        kwargs["routing"] = args.routing
    if args.compaction:
        kwargs["compaction"] = args.compaction
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    cluster = dougdb.LocalCluster(**kwargs)
    tty = sys.stdout.isatty()
    try:
        print(f"starting {args.nodes} nodes, {args.shards} shard(s)...", flush=True)
        cluster.start()
        endpoints = ",".join(cluster.endpoints)
        print(f"endpoints: {endpoints}")
        for n in cluster.nodes:
            print(f"  node {n.id}: {n.address} pid {n.pid} data {n.data_dir}")
        print(f"try: dougdb put hello world --endpoints {endpoints}")
        print("Ctrl-C stops the cluster.", flush=True)
        _refresh_loop(cluster, args, tty, endpoints)
    except (KeyboardInterrupt, _Stop):
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut stop()
        print("\nstopping...", flush=True)
        try:
            cluster.stop()
        finally:
            signal.signal(signal.SIGTERM, previous)
    print("stopped", flush=True)
    return 0


def _refresh_loop(cluster: Any, args: argparse.Namespace, tty: bool, endpoints: str) -> None:
    import dougdb  # noqa: PLC0415

    interval = max(0.1, float(args.interval))
    deadline = None if args.run_for is None else time.monotonic() + args.run_for
    last_shape: list[tuple[Any, ...]] | None = None
    while deadline is None or time.monotonic() < deadline:
        try:
            status = cluster.status()
            table = render_status(status)
            shape = _shape(status)
        except dougdb.DougDBError as e:
            table, shape = f"status unavailable: {e}", None
        stamp = time.strftime("%H:%M:%S")
        if tty:
            sys.stdout.write(f"{_CLEAR}dougdb up  {stamp}  endpoints: {endpoints}\n\n{table}\n")
            sys.stdout.write("\nCtrl-C stops the cluster.\n")
            sys.stdout.flush()
        elif shape is None or shape != last_shape:
            print(f"[{stamp}]\n{table}", flush=True)
        last_shape = shape
        wait = interval if deadline is None else min(interval, deadline - time.monotonic())
        if wait > 0:
            time.sleep(wait)  # the refresh period of a display, not synchronisation
