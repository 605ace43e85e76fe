"""Status types of a local cluster: :class:`NodeInfo`, :class:`ReplicaStatus`,
:class:`ShardStatus` and :class:`ClusterStatus` (with ``to_dict()`` and an HTML table for
notebooks)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["ClusterStatus", "NodeInfo", "ReplicaStatus", "ShardStatus", "build_status"]


@dataclass(frozen=True)
class NodeInfo:
    """One node of a :class:`~dougdb.LocalCluster`."""

    id: int
    #: ``host:port`` of its gRPC listener (the same across restarts).
    address: str
    #: Process id, or None when the node is not running.
    pid: int | None
    #: Whether its process runs and is not paused.
    alive: bool
    #: Its data dir.
    data_dir: str
    #: Whether it is stopped with SIGSTOP (``cluster.pause``).
    paused: bool = False


@dataclass(frozen=True)
class ReplicaStatus:
    """One replica of a shard, as its node reported it (or not: ``alive=False``)."""

    node: int
    #: ``"leader"``, ``"follower"``, ``"candidate"``, ``"pre_candidate"``, or
    #: ``"unknown"`` when the node did not answer.
    role: str
    term: int | None
    commit_index: int | None
    applied_index: int | None
    snapshot_index: int | None
    alive: bool
    #: The leader this replica knows of, if any.
    leader: int | None = None
    last_index: int | None = None


@dataclass(frozen=True)
class ShardStatus:
    """One shard: its leader (the replica leading in the highest term) and replicas."""

    shard: int
    leader: int | None
    replicas: list[ReplicaStatus] = field(default_factory=list)


@dataclass(frozen=True)
class ClusterStatus:
    """Every shard's status, from ``cluster.status()``."""

    shards: list[ShardStatus]

    def to_dict(self) -> dict[str, Any]:
        """Plain dicts and lists (JSON-ready)."""
        return {"shards": [asdict(s) for s in self.shards]}

    def shard(self, shard: int) -> ShardStatus:
        """The status of one shard."""
        for s in self.shards:
            if s.shard == shard:
                return s
        raise KeyError(shard)

    def __str__(self) -> str:
        rows = [
            ("shard", "node", "role", "term", "commit", "applied", "snapshot", "alive")
        ]
        for s in self.shards:
            for r in s.replicas:
                rows.append(
                    (
                        str(s.shard),
                        str(r.node) + (" *" if r.node == s.leader else ""),
                        r.role,
                        _cell(r.term),
                        _cell(r.commit_index),
                        _cell(r.applied_index),
                        _cell(r.snapshot_index),
                        "yes" if r.alive else "no",
                    )
                )
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        return "\n".join(
            "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows
        )

    def _repr_html_(self) -> str:
        head = "".join(
            f"<th>{h}</th>"
            for h in (
                "shard",
                "node",
                "role",
                "term",
                "commit",
                "applied",
                "snapshot",
                "alive",
            )
        )
        body = []
        for s in self.shards:
            for r in s.replicas:
                style = ' style="font-weight:bold"' if r.node == s.leader else ""
                dead = ' style="color:#999"' if not r.alive else style
                cells = (
                    s.shard,
                    r.node,
                    r.role,
                    _cell(r.term),
                    _cell(r.commit_index),
                    _cell(r.applied_index),
                    _cell(r.snapshot_index),
                    "yes" if r.alive else "no",
                )
                tds = "".join(f"<td>{html.escape(str(c))}</td>" for c in cells)
                body.append(f"<tr{dead}>{tds}</tr>")
        return (
            '<table class="dougdb-status"><thead><tr>'
            + head
            + "</tr></thead><tbody>"
            + "".join(body)
            + "</tbody></table>"
        )


def _cell(value: int | None) -> str:
    return "-" if value is None else str(value)


def build_status(
    shards: dict[int, Sequence[int]], answers: dict[int, dict[str, Any] | None]
) -> ClusterStatus:
    """A :class:`ClusterStatus` from each shard's replica nodes and each node's
    ``Admin/Status`` answer (None: the node did not answer)."""
    out = []
    for shard_id in sorted(shards):
        replicas = []
        for node in shards[shard_id]:
            answer = answers.get(node)
            found = None
            if answer is not None:
                for r in answer.get("replicas", []):
                    if int(r["shard"]) == shard_id:
                        found = r
                        break
            if found is None:
                replicas.append(
                    ReplicaStatus(node, "unknown", None, None, None, None, False)
                )
            else:
                replicas.append(
                    ReplicaStatus(
                        node=node,
                        role=str(found["role"]),
                        term=int(found["term"]),
                        commit_index=int(found["commit_index"]),
                        applied_index=int(found["applied_index"]),
                        snapshot_index=int(found["snapshot_index"]),
                        alive=True,
                        leader=found.get("leader"),
                        last_index=found.get("last_index"),
                    )
                )
        leaders = [r for r in replicas if r.role == "leader" and r.term is not None]
        leader = max(leaders, key=lambda r: r.term or 0).node if leaders else None
        out.append(ShardStatus(shard=shard_id, leader=leader, replicas=replicas))
    return ClusterStatus(shards=out)
