"""Storage faults and snapshots on a real 3-node cluster (issue 7, "the suite"): a lagging
follower catching up by snapshot; a truncated WAL tail, a flipped bit in the middle of a
WAL and a flipped bit in an SSTable of a stopped follower.

Every test keeps a :class:`_disk_faults.Ledger` of its writes and reads and asserts, for
every read it makes on any node, that the value was written to that key (a strong read:
the last acknowledged value), and at the end that a strong read of every key written gives
its last acknowledged value (no acknowledged write lost). It prints what it did (the node
it damaged, the file, the offset and the counts of operations).

The layout of a node's files is in ``_disk_faults``'s docstring. The damage is done while
the node is stopped, as a disk would do it between two runs; no test sleeps to
synchronise (every wait polls a condition against a deadline).

What an operator does after a flipped bit in the middle of a node's Raft log (the node
refuses to start, naming the file and the offset): the node's disk is no longer trusted,
so, as ``docs/operations.md`` "Recovering from a lost node" says, its data dir is wiped and
the node replaced: start a new node (new id, in the shard's ``joining`` list),
``Admin/AddLearner`` it on the leader, ``Admin/Promote`` it once caught up, then
``Admin/RemoveMember`` the damaged id. That path is not exercised here: the Python package
exposes no membership calls (``AddLearner`` / ``Promote`` / ``RemoveMember``) and
``LocalCluster`` has a fixed set of node ids.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

import dougdb
from _disk_faults import (
    FRAME_HEADER_BYTES,
    Ledger,
    append_torn_frame,
    cut_tail,
    flip_bit,
    raft_entry_index,
    sst_data_blocks,
    sst_files,
    wal_frames,
    wal_segments,
)
from conftest import leader_of, other_nodes, wait_until

SHARD = 0
#: Raft log compaction period of the snapshot test (entries).
SNAPSHOT_ENTRIES = 20


def replica(cluster: Any, node: int, shard: int = SHARD) -> Any:
    """Node ``node``'s own view of ``shard`` (Admin/Status), or None when it does not answer."""
    return next(r for r in cluster.status().shard(shard).replicas if r.node == node)


def node_dir(cluster: Any, node: int) -> Path:
    return Path(next(n.data_dir for n in cluster.nodes if n.id == node))


def log_text(cluster: Any, node: int) -> str:
    return Path(cluster.log_path(node)).read_text(errors="replace")


def a_follower(cluster: Any) -> tuple[int, int]:
    """(leader, a follower) of the shard."""
    leader = leader_of(cluster, SHARD)
    return leader, other_nodes(cluster, leader)[0]


def assert_no_panic(cluster: Any, node: int) -> None:
    """Fails with the panic message if node ``node`` ever panicked (a panicking replica
    task leaves the process up but the shard dead on that node)."""
    lines = log_text(cluster, node).splitlines()
    for i, line in enumerate(lines):
        if "panicked at" in line:
            raise AssertionError(
                f"node {node} panicked: {' '.join(lines[i : i + 2])} "
                f"(log: {cluster.log_path(node)})"
            )


def converged_on(cluster: Any, ledger: Ledger, node: int, keys: list[bytes]) -> bool:
    """Eventual reads pinned to ``node`` (each checked by the ledger: never a value that
    was not written) give every key's last acknowledged value. Fails at once if the node
    panicked."""
    assert_no_panic(cluster, node)
    pinned = cluster.client(node=node, timeout=2.0)
    try:
        for key in keys:
            got = ledger.read(pinned, key, strong=False, source=f"node {node}", timeout=2.0)
            if got != ledger.acked[key]:
                return False
        return True
    finally:
        pinned.close()


def keys_of(prefix: str, n: int) -> list[bytes]:
    return [f"{prefix}/{i:03d}".encode() for i in range(n)]


def finish(cluster: Any, ledger: Ledger, keys: list[bytes]) -> None:
    """The cluster still takes writes, and strong reads of every key written give the last
    acknowledged value (no acknowledged write lost)."""
    db = cluster.client()
    try:
        ledger.put_acked(db, keys)
        ledger.assert_all_acknowledged(db)
    finally:
        db.close()
    print("operations:", ledger.summary())


def test_lagging_follower_catches_up_by_snapshot(dougdb_cluster_factory: Any) -> None:
    """A follower down while the leader compacts its log past the follower's last entry
    can only catch up by InstallSnapshot (the entries it lacks are gone from the leader's
    log); it then serves every acknowledged value with eventual reads."""
    cluster = dougdb_cluster_factory(nodes=3, shards=1, snapshot_entries=SNAPSHOT_ENTRIES)
    ledger = Ledger(pad=64)
    db = cluster.client()
    keys = keys_of("snap", 25)
    ledger.put_acked(db, keys)
    _, follower = a_follower(cluster)
    wait_until(
        lambda: converged_on(cluster, ledger, follower, keys),
        what=f"follower {follower} applied every write before it is stopped",
    )
    behind = wait_until(
        lambda: (r := replica(cluster, follower)).last_index is not None and r,
        what=f"follower {follower}'s status",
    )
    cluster.kill(follower)
    print(f"killed follower {follower} at last index {behind.last_index}")
    live = other_nodes(cluster, follower)

    def compacted_past_follower() -> int | None:
        """The lowest snapshot index of the live replicas, once every one of them (so
        whichever leads) has compacted its log past the follower's last entry."""
        lowest = min((replica(cluster, n).snapshot_index or 0) for n in live)
        return lowest if lowest > behind.last_index + 1 else None

    # Write until the live replicas' logs start past the follower's last entry (bounded).
    rounds = 0
    while (compacted := compacted_past_follower()) is None:
        rounds += 1
        assert rounds <= 8, f"the log was never compacted: {cluster.status()}"
        ledger.put_acked(db, keys)
    print(
        f"nodes {live}: snapshots at >= {compacted}, their logs start past the "
        f"follower's last index {behind.last_index}"
    )

    cluster.restart(follower)
    wait_until(
        lambda: converged_on(cluster, ledger, follower, keys),
        timeout=60.0,
        what=f"restarted follower {follower} serving every acknowledged value",
    )
    caught_up = replica(cluster, follower)
    print(f"follower {follower} after catching up: {caught_up}")
    # Its state reached entries only the leader's snapshot holds now, and it holds a
    # snapshot at or past the one the leader had when it came back.
    assert caught_up.snapshot_index >= compacted
    assert caught_up.applied_index > behind.last_index
    db.close()
    finish(cluster, ledger, keys_of("snap-after", 10))
    assert converged_on(cluster, ledger, follower, keys)


@pytest.mark.parametrize("tear", ["last-entry", "unsynced-append"])
def test_truncated_wal_tail_on_a_follower(dougdb_cluster_factory: Any, tear: str) -> None:
    """A torn tail of a follower's Raft log: the node restarts, says in its log that it
    cut a torn tail, catches up, and never answers a wrong value.

    ``last-entry``: the newest segment is cut in the middle of its last entry record (and
    every record after it goes too): the follower forgets an entry it had acknowledged
    (as after a lost or rotted last write); Raft must re-replicate it.
    ``unsynced-append``: half of a new frame is appended after the last record, as a
    crash during a write that was never fsynced (nor acknowledged) leaves it."""
    # A node that does not come back fails the test in 15 s, not LocalCluster's 30.
    cluster = dougdb_cluster_factory(nodes=3, shards=1, start_timeout=15.0)
    ledger = Ledger()
    db = cluster.client()
    keys = keys_of("tail", 20)
    ledger.put_acked(db, keys)
    _, follower = a_follower(cluster)
    wait_until(
        lambda: converged_on(cluster, ledger, follower, keys),
        what=f"follower {follower} applied every write",
    )
    cluster.kill(follower)

    segment = wal_segments(node_dir(cluster, follower), SHARD)[-1]
    frames = wal_frames(segment)
    assert frames and frames[-1].end == segment.stat().st_size, (
        f"{segment} does not end with a whole record"
    )
    if tear == "last-entry":
        torn = next(f for f in reversed(frames) if raft_entry_index(segment, f) is not None)
        cut = cut_tail(segment, torn.offset + FRAME_HEADER_BYTES + torn.length // 2)
        print(
            f"follower {follower}: cut {cut} bytes off {segment}: entry "
            f"{raft_entry_index(segment, torn)} torn, "
            f"{len(frames) - frames.index(torn) - 1} later records gone"
        )
    else:
        added = append_torn_frame(segment)
        print(f"follower {follower}: appended a torn frame of {added} bytes to {segment}")
    log_before = len(log_text(cluster, follower))

    more = keys_of("tail-down", 10)
    ledger.put_acked(db, more + keys[:5])  # 2 of 3 keep taking writes
    try:
        cluster.restart(follower)
    except dougdb.DougDBError:
        assert_no_panic(cluster, follower)  # the clearer failure, when it is one
        raise
    wait_until(
        lambda: converged_on(cluster, ledger, follower, keys + more),
        timeout=30.0,
        what=f"follower {follower} catching up after the torn tail",
    )
    db.close()
    finish(cluster, ledger, keys_of("tail-after", 10))
    assert converged_on(cluster, ledger, follower, keys + more)

    restart_log = log_text(cluster, follower)[log_before:]
    # (The data dir's path, named after this test, says "truncated" too: not counted.)
    said = restart_log.replace(cluster.data_dir, "<data dir>").lower()
    assert "torn" in said or "truncat" in said, (
        f"node {follower}'s log says nothing of the torn WAL tail of {segment.name} it "
        f"cut; its log since the restart:\n{restart_log}"
    )


def test_flipped_bit_mid_wal_on_a_follower(dougdb_cluster_factory: Any, seed: int) -> None:
    """Bit rot in the middle of a follower's Raft log (a valid record follows the bad
    one): detected at start; the node refuses, naming the file and the offset, or at
    least never serves a wrong value. Two nodes out of three keep the shard correct."""
    rng = random.Random(seed)
    cluster = dougdb_cluster_factory(nodes=3, shards=1)
    ledger = Ledger()
    db = cluster.client()
    keys = keys_of("mid", 30)
    ledger.put_acked(db, keys)
    _, follower = a_follower(cluster)
    wait_until(
        lambda: converged_on(cluster, ledger, follower, keys),
        what=f"follower {follower} applied every write",
    )
    cluster.kill(follower)

    segment = wal_segments(node_dir(cluster, follower), SHARD)[-1]
    frames = wal_frames(segment)
    assert len(frames) >= 3, f"{segment} holds {len(frames)} records"
    frame = frames[rng.randrange(1, len(frames) - 1)]  # neither the first nor the last
    offset = frame.offset + FRAME_HEADER_BYTES + rng.randrange(frame.length)
    bit = rng.randrange(8)
    flip_bit(segment, offset, bit)
    print(
        f"follower {follower}: flipped bit {bit} at offset {offset} of {segment} "
        f"(the record at file offset {frame.offset}, {len(frames)} records)"
    )

    try:
        cluster.restart(follower)
    except dougdb.DougDBError as err:
        message = str(err)
        print(f"node {follower} refused to start:\n{message}")
        assert "corruption" in message.lower(), message
        assert segment.name in message, f"the error does not name {segment.name}: {message}"
        assert f"offset {frame.offset}" in message, (
            f"the error does not name the bad record's offset {frame.offset}: {message}"
        )
        started = False
    else:
        started = True
        print(f"node {follower} started on the damaged log")
    if started:
        # Accepted only if it never serves a wrong value (the ledger checks every read).
        wait_until(
            lambda: converged_on(cluster, ledger, follower, keys),
            timeout=30.0,
            what=f"node {follower} serving the acknowledged values",
        )

    # The shard stays correct: writes and strong reads (with 2 of 3 if it refused).
    ledger.put_acked(db, keys[::3] + keys_of("mid-down", 10))
    ledger.assert_all_acknowledged(db)  # strong reads, errors not tolerated
    db.close()
    finish(cluster, ledger, keys_of("mid-after", 5))


def test_flipped_bit_in_an_sstable_of_a_follower(
    dougdb_cluster_factory: Any, seed: int
) -> None:
    """Bit rot in a data block of a stopped follower's SSTable: detected (the node
    refuses to start, or its reads of that block fail with CorruptionError), never a
    wrong value from that node, and the cluster stays correct."""
    rng = random.Random(seed)
    cluster = dougdb_cluster_factory(nodes=3, shards=1)
    ledger = Ledger(pad=200)
    db = cluster.client()
    keys = keys_of("sst", 60)
    ledger.put_acked(db, keys)
    _, follower = a_follower(cluster)
    wait_until(
        lambda: converged_on(cluster, ledger, follower, keys),
        what=f"follower {follower} applied every write",
    )
    # A graceful stop flushes each shard's state machine: its data is in SSTables now.
    cluster.stop_node(follower)
    tables = sst_files(node_dir(cluster, follower), SHARD)
    assert tables, f"no SSTable in {node_dir(cluster, follower)} after a graceful stop"
    table = max(tables, key=lambda t: t.stat().st_size)
    # A block of client keys only (the exactly-once table's keys, "\xffdougdb/session/",
    # sort last and are read at open; client keys are read on demand): any byte of the
    # block, its trailer included.
    blocks = [b for b in sst_data_blocks(table) if not b.last.startswith(b"\xff")]
    assert blocks, f"{table} holds no block of client keys"
    block = rng.choice(blocks)
    offset = block.offset + rng.randrange(block.length + 5)
    bit = rng.randrange(8)
    flip_bit(table, offset, bit)
    damaged = [k for k in keys if block.holds(k)]
    print(
        f"follower {follower}: flipped bit {bit} at offset {offset} of {table}, in the "
        f"data block at {block.offset} holding {len(damaged)} of the keys"
    )
    assert damaged, f"the block at {block.offset} of {table} holds none of the keys"

    acked_before = dict(ledger.acked)
    ledger.put_acked(db, keys_of("sst-down", 10))  # 2 of 3 keep taking writes
    errors: dict[bytes, dougdb.DougDBError] = {}
    try:
        cluster.restart(follower)
    except dougdb.DougDBError as err:
        message = str(err)
        print(f"node {follower} refused to start:\n{message}")
        assert "corruption" in message.lower() and table.name in message, message
        refused = True
    else:
        refused = False
        pinned = cluster.client(node=follower, timeout=2.0)
        for key in keys:
            got = ledger.read(pinned, key, strong=False, source=f"node {follower}")
            if isinstance(got, dougdb.DougDBError):
                errors[key] = got
                continue
            # It had every one of these durable before it stopped: that value or an error.
            assert got == acked_before[key], (
                f"node {follower} answered {got!r} for {key!r}, acknowledged "
                f"{acked_before[key]!r}"
            )
        pinned.close()
        print(
            f"node {follower} started; {len(errors)} of {len(keys)} reads failed: "
            f"{sorted({f'{type(e).__name__}: {e}'[:200] for e in errors.values()})}"
        )

    # The cluster stays correct whatever the damaged node does.
    ledger.assert_all_acknowledged(db)  # strong reads, errors not tolerated
    db.close()
    finish(cluster, ledger, keys_of("sst-after", 10))

    if refused:
        return
    # Detected when read: every read of a key of the damaged block failed, naming the
    # corruption, and as the error the API promises for it.
    unnoticed = [k for k in damaged if "corruption" not in str(errors.get(k, "")).lower()]
    assert not unnoticed, (
        f"the flipped bit at offset {offset} of {table.name} went unnoticed: node "
        f"{follower} answered reads of {unnoticed} (in the damaged block) without "
        f"reporting corruption: {[errors.get(k) for k in unnoticed]}"
    )
    wrong_type = [errors[k] for k in damaged if not isinstance(errors[k], dougdb.CorruptionError)]
    assert not wrong_type, (
        f"node {follower} detected the damaged block but its reads failed with "
        f"{type(wrong_type[0]).__name__}, not CorruptionError: {wrong_type[0]}"
    )
