"""The cluster file a LocalCluster writes (format: docs/operations.md, parsed by
crates/dougdb-server/src/cluster.rs) and the mapping of LocalCluster's options onto it and
onto node flags."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Sequence
from typing import Any

from .errors import InvalidArgumentError

BUILTIN_ROUTING = ("hash", "range")
BUILTIN_COMPACTION = ("leveled", "tiered")

#: A node's election timeout is 15 to 30 Raft ticks (dougdb-server's `--tick-ms`).
ELECTION_TICKS_MIN = 15


def _is_wasm_path(spec: str) -> bool:
    return spec.endswith(".wasm") or os.sep in spec


def routing_entry(
    routing: str | None, shards: int, range_splits: Sequence[str] | None
) -> dict[str, Any]:
    """The cluster file's ``routing`` object for ``LocalCluster(routing=...)``."""
    if routing is None or routing == "hash":
        if range_splits:
            raise InvalidArgumentError('range_splits is only for routing="range"')
        return {"name": "hash", "sha256": ""}
    routing = os.fspath(routing)
    if routing == "range":
        if range_splits is None:
            # Evenly over the lowercase letters: shard i gets keys from its split on.
            splits = [chr(ord("a") + (26 * i) // shards) for i in range(1, shards)]
        else:
            splits = [str(s) for s in range_splits]
        if len(splits) != shards - 1 or sorted(set(splits)) != splits:
            raise InvalidArgumentError(
                f'routing="range" with {shards} shards needs {shards - 1} strictly '
                f"ascending split points, got {splits!r}"
            )
        entry: dict[str, Any] = {"name": "range", "sha256": ""}
        if splits:
            entry["splits"] = splits
        return entry
    if _is_wasm_path(routing):
        path = os.path.abspath(routing)
        if not os.path.isfile(path):
            raise InvalidArgumentError(
                f"routing plugin {routing!r} is not a file: give a built-in name "
                f"{BUILTIN_ROUTING} or the path of a .wasm routing plugin"
            )
        name = os.path.splitext(os.path.basename(path))[0]
        return {"name": name, "sha256": "", "path": path}
    raise InvalidArgumentError(
        f"unknown routing {routing!r}: give a built-in name {BUILTIN_ROUTING} or the path "
        "of a .wasm routing plugin"
    )


def compaction_entry(compaction: str | None) -> dict[str, Any] | None:
    """The cluster file's ``compaction`` object (None: the node's default, leveled)."""
    if compaction is None:
        return None
    compaction = os.fspath(compaction)
    if compaction in BUILTIN_COMPACTION:
        return {"name": compaction}
    if _is_wasm_path(compaction):
        path = os.path.abspath(compaction)
        if not os.path.isfile(path):
            raise InvalidArgumentError(
                f"compaction plugin {compaction!r} is not a file: give a built-in name "
                f"{BUILTIN_COMPACTION} or the path of a .wasm compaction plugin"
            )
        return {"name": os.path.splitext(os.path.basename(path))[0], "path": path}
    raise InvalidArgumentError(
        f"unknown compaction {compaction!r}: give a built-in name {BUILTIN_COMPACTION} or "
        "the path of a .wasm compaction plugin"
    )


def tick_ms(election_timeout_ms: tuple[int, int]) -> int:
    """``--tick-ms`` for an election timeout range: elections take 15-30 ticks, so the
    range's low end sets the tick (a range that is not (x, 2x) is honoured at its low
    end)."""
    try:
        low, high = (int(v) for v in election_timeout_ms)
    except (TypeError, ValueError):
        raise InvalidArgumentError(
            f"election_timeout_ms must be a (low, high) pair of milliseconds, got "
            f"{election_timeout_ms!r}"
        ) from None
    if low < ELECTION_TICKS_MIN or high < low:
        raise InvalidArgumentError(
            f"election_timeout_ms must be (low, high) with {ELECTION_TICKS_MIN} <= low <= "
            f"high, got {election_timeout_ms!r}"
        )
    return max(1, round(low / ELECTION_TICKS_MIN))


def placement(nodes: int, shards: int, replicas: int | None) -> dict[int, list[int]]:
    """Each shard's replica nodes: all nodes, or ``replicas`` of them, spread round-robin."""
    if replicas is None:
        replicas = nodes
    if not 1 <= replicas <= nodes:
        raise InvalidArgumentError(f"replicas must be in 1..={nodes}, got {replicas!r}")
    return {
        s: sorted(((s + i) % nodes) + 1 for i in range(replicas)) for s in range(shards)
    }


def cluster_file(
    addresses: dict[int, str],
    shard_replicas: dict[int, list[int]],
    routing: dict[str, Any],
    compaction: dict[str, Any] | None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "cluster_id": random.getrandbits(63) or 1,
        "nodes": [{"id": n, "address": a} for n, a in sorted(addresses.items())],
        "shards": [{"id": s, "replicas": r} for s, r in sorted(shard_replicas.items())],
        "routing": routing,
    }
    if compaction is not None:
        out["compaction"] = compaction
    return out


def write_json(path: str, data: dict[str, Any]) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)


def read_json(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        return json.load(f)
