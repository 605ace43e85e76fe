"""``dougdb status --endpoints E``: the status of a cluster known only by its endpoints.

There is no public status call for arbitrary endpoints (``LocalCluster.status()`` knows its
own nodes), so this asks any endpoint for the cluster map (node ids and addresses), then
every node for its ``Admin/Status`` at once, and builds a ``ClusterStatus`` with ``dougdb.status.build_status``
(the same as ``LocalCluster.status()``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["fetch_status"]


def fetch_status(endpoints: str, timeout: float) -> Any:
    """The cluster's ``ClusterStatus`` (shards, replicas, roles, terms, indexes)."""
    return _status_from_admin(endpoints, timeout)


def _status_from_admin(endpoints: str, timeout: float) -> Any:
    import dougdb  # noqa: PLC0415

    from . import _native  # noqa: PLC0415
    from .status import build_status  # noqa: PLC0415

    client = dougdb.connect(endpoints, timeout=timeout)
    cmap = _cluster_map(client)
    nodes = {int(k): str(v) for k, v in cmap["nodes"].items()}
    ids = sorted(nodes)
    # A short per-node budget: a paused node must not stall the table.
    per_node = _native.admin_status([nodes[i] for i in ids], min(timeout, 1.0))
    answers = dict(zip(ids, per_node))
    shards = {
        int(s["id"]): [int(n) for n in list(s.get("voters", [])) + list(s.get("learners", []))]
        for s in cmap["shards"]
    }
    return build_status(shards, answers)


def _cluster_map(client: Any) -> dict[str, Any]:
    native = getattr(client, "_native", None) or client
    fn = getattr(native, "cluster_map", None)
    if fn is None:
        import dougdb  # noqa: PLC0415

        raise dougdb.DougDBError("this build of dougdb cannot read the cluster map")
    return dict(fn() if callable(fn) else fn)
