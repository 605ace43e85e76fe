#!/usr/bin/env python3
"""The disk's floor under a replicated write: latency of a small write + fdatasync.

A DougDB put is acknowledged once a majority made it durable, so no single-client put can
be faster than one fdatasync while the three nodes of a local cluster fsync at the same time.
This measures that floor on the file system holding DIR (default: the temp dir, where
`load` puts its cluster): N writer processes (1 and 3 by default), each appending 300-byte
records to its own file and calling fdatasync after each, COUNT times. Stdlib only; bounded
(COUNT records per writer); removes its files.

    scripts/disk-floor.py [--dir DIR] [--count 1000] [--writers 1,3]
"""

import argparse
import os
import tempfile
import time
from multiprocessing import Process, Queue


def writer(path: str, count: int, out: Queue) -> None:
    fd = os.open(path, os.O_CREAT | os.O_RDWR | os.O_TRUNC, 0o600)
    try:
        record = b"x" * 300
        lat = []
        for i in range(count):
            os.pwrite(fd, record, i * len(record))
            t = time.perf_counter()
            os.fdatasync(fd)
            lat.append(time.perf_counter() - t)
        out.put(sorted(lat))
    finally:
        os.close(fd)
        os.unlink(path)


def pct(sorted_lat: list, p: float) -> float:
    return sorted_lat[min(len(sorted_lat) - 1, int(p * len(sorted_lat)))] * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default=tempfile.gettempdir())
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--writers", default="1,3")
    a = ap.parse_args()
    if a.count < 1:
        ap.error("--count must be at least 1")
    work = tempfile.mkdtemp(prefix="disk-floor-", dir=a.dir)
    try:
        for n in (int(w) for w in a.writers.split(",")):
            q: Queue = Queue()
            ps = [
                Process(target=writer, args=(os.path.join(work, f"w{i}"), a.count, q))
                for i in range(n)
            ]
            for p in ps:
                p.start()
            lats = [q.get() for _ in ps]
            for p in ps:
                p.join()
            p50 = sum(pct(x, 0.50) for x in lats) / n
            p99 = sum(pct(x, 0.99) for x in lats) / n
            print(
                f"fdatasync of a 300 B append, {n} concurrent writer(s), {a.count} each: "
                f"p50 {p50:.0f} us, p99 {p99:.0f} us"
            )
    finally:
        os.rmdir(work)


if __name__ == "__main__":
    main()
