"""``python -m dougdb.demo`` (``make demo``): a local 3-node, 2-shard cluster survives the
loss of a shard leader under load, without losing an acknowledged write.

Steps: start the cluster; run a mixed workload (writers put unique keys, readers read
them back) and count acknowledged writes; kill the leader of shard 0 while the workload
runs; report the re-election (old leader, new leader, time to the new leader); keep the
workload going, restart the old leader and let it catch up; stop the workload; read every
acknowledged write back with strong reads; print the status table; stop. Exits 1 if any
acknowledged write is missing or wrong.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time

import dougdb


class Workload:
    """Writers put unique keys (a write counts once its put returned), readers read
    acknowledged keys back with strong reads and check them."""

    def __init__(self, client: dougdb.Client, writers: int, readers: int) -> None:
        self.client = client
        self.acked: dict[bytes, bytes] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.failed_writes = 0  # timed out / unavailable: may or may not have applied
        self.reads = 0
        self.bad_reads: list[tuple[bytes, bytes | None, bytes]] = []
        self.threads = [
            threading.Thread(target=self._write, args=(w,), daemon=True)
            for w in range(writers)
        ] + [threading.Thread(target=self._read, daemon=True) for _ in range(readers)]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def join(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)

    def _write(self, w: int) -> None:
        i = 0
        while not self.stop.is_set() and i < 1_000_000:
            key = b"demo/%d/%06d" % (w, i)
            value = b"value-%d-%d" % (w, i)
            i += 1
            try:
                self.client.put(key, value, timeout=5.0)
            except dougdb.DougDBError:
                with self.lock:
                    self.failed_writes += 1
                continue
            with self.lock:
                self.acked[key] = value

    def _read(self) -> None:
        n = 0
        while not self.stop.is_set() and n < 10_000_000:
            n += 1
            with self.lock:
                if not self.acked:
                    sample = None
                else:
                    # The most recent acknowledged key: the hardest one to have lost.
                    sample = next(reversed(self.acked.items()))
            if sample is None:
                time.sleep(0.005)  # nothing written yet
                continue
            key, value = sample
            try:
                got = self.client.get(key, timeout=5.0)
            except dougdb.DougDBError:
                continue
            with self.lock:
                self.reads += 1
                if got != value:
                    self.bad_reads.append((key, got, value))

    def count(self) -> int:
        with self.lock:
            return len(self.acked)


def leader_and_term(cluster: dougdb.LocalCluster, shard: int) -> tuple[int | None, int]:
    s = cluster.status().shard(shard)
    terms = [r.term for r in s.replicas if r.node == s.leader and r.term is not None]
    return s.leader, (terms[0] if terms else 0)


def wait_new_leader(
    cluster: dougdb.LocalCluster, shard: int, old: int, old_term: int, timeout: float
) -> tuple[int, int]:
    """The leader elected after ``old`` (another node, in a later term), and its term."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        leader, term = leader_and_term(cluster, shard)
        if leader is not None and leader != old and term > old_term:
            return leader, term
        time.sleep(0.01)  # polling against a deadline
    raise dougdb.UnavailableError(
        f"shard {shard} elected no new leader within {timeout} s"
    )


def wait_caught_up(cluster: dougdb.LocalCluster, node: int, timeout: float) -> float:
    """Seconds until ``node`` has applied, on every shard, what the leader had committed
    when we started waiting."""
    start = time.monotonic()
    targets = {}
    for s in cluster.status().shards:
        leader = next((r for r in s.replicas if r.node == s.leader), None)
        targets[s.shard] = leader.commit_index if leader and leader.commit_index else 0
    while time.monotonic() - start < timeout:
        st = cluster.status()
        if all(
            (r.applied_index or 0) >= targets[s.shard]
            for s in st.shards
            for r in s.replicas
            if r.node == node
        ):
            return time.monotonic() - start
        time.sleep(0.02)  # polling against a deadline
    raise dougdb.DougDBError(f"node {node} did not catch up within {timeout} s")


def verify(client: dougdb.Client, acked: dict[bytes, bytes]) -> list[bytes]:
    """Keys whose acknowledged value is not what a strong read returns."""
    lost = []
    items = sorted(acked.items())
    for i in range(0, len(items), 500):
        chunk = items[i : i + 500]
        got = client.get_many([k for k, _ in chunk], consistency="strong", timeout=30.0)
        lost += [k for (k, v), g in zip(chunk, got) if g != v]
    return lost


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dougdb.demo", description=__doc__)
    parser.add_argument(
        "--seconds", type=float, default=2.0, help="load before/after the kill"
    )
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--readers", type=int, default=2)
    args = parser.parse_args(argv)
    say = lambda *a: print(*a, flush=True)

    t0 = time.monotonic()
    with dougdb.LocalCluster(nodes=3, shards=2) as cluster:
        say(
            f"started 3 nodes, 2 shards in {time.monotonic() - t0:.2f} s: {', '.join(cluster.endpoints)}"
        )
        leaders = {s: cluster.leader(s) for s in range(2)}
        say(f"leaders: shard 0 -> node {leaders[0]}, shard 1 -> node {leaders[1]}")
        client = cluster.client()
        load = Workload(client, args.writers, args.readers)
        load.start()
        time.sleep(args.seconds)  # the demo's load phase runs for a wall-clock time
        before = load.count()
        say(
            f"workload: {args.writers} writers, {args.readers} readers; {before} writes acknowledged"
        )

        old, old_term = leader_and_term(
            cluster, 0
        )  # now, not at start: it may have moved
        if old is None:
            old = cluster.wait_for_leader(0)
            old, old_term = leader_and_term(cluster, 0)
        assert old is not None
        say(
            f"killing node {old}, the leader of shard 0 in term {old_term} (SIGKILL) ..."
        )
        killed_at = time.monotonic()
        cluster.kill(old)
        new, new_term = wait_new_leader(cluster, 0, old, old_term, timeout=10.0)
        elected = time.monotonic() - killed_at
        say(
            f"re-election: shard 0 leader node {old} (term {old_term}) -> node {new} "
            f"(term {new_term}) in {elected * 1000:.0f} ms"
        )
        time.sleep(args.seconds)  # keep the load running on the surviving majority
        say(
            f"workload continued: {load.count() - before} more writes acknowledged with node {old} down"
        )

        cluster.restart(old)
        caught = wait_caught_up(cluster, old, timeout=30.0)
        say(f"restarted node {old}; caught up in {caught * 1000:.0f} ms")
        load.join()
        acked = dict(load.acked)
        say(
            f"workload stopped: {len(acked)} writes acknowledged, {load.failed_writes} "
            f"uncertain (timed out, not counted), {load.reads} strong reads checked"
        )

        lost = verify(client, acked)
        say(
            f"verified {len(acked)} acknowledged writes with strong reads: {len(lost)} lost"
        )
        say("")
        say(str(cluster.status()))
        say("")
        client.close()
    ok = not lost and not load.bad_reads and len(acked) > 0
    for key in lost[:10]:
        say(f"LOST: {key!r}")
    for key, got, want in load.bad_reads[:10]:
        say(f"BAD READ: {key!r} gave {got!r}, acknowledged {want!r}")
    say(f"demo {'passed' if ok else 'FAILED'} in {time.monotonic() - t0:.1f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
