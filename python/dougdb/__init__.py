"""DougDB: a distributed key-value store (Raft per shard, WAL, LSM) driven from Python.

>>> import dougdb
>>> with dougdb.LocalCluster(nodes=3, shards=1) as cluster:     # doctest: +SKIP
...     db = cluster.client()
...     db.put(b"k", b"v")
...     assert db.get(b"k") == b"v"
"""

from __future__ import annotations

from . import errors, plugins
from .aio import AsyncClient
from .client import Client, connect
from .cluster import LocalCluster
from .errors import (
    ConnectionError,
    CorruptionError,
    DougDBError,
    InvalidArgumentError,
    NotLeaderError,
    PluginError,
    TimeoutError,
    UnavailableError,
)
from .status import ClusterStatus, NodeInfo, ReplicaStatus, ShardStatus

try:
    from ._native import __version__
except (
    ImportError
):  # pragma: no cover - the native module is always built with the package
    __version__ = "0.0.0"

__all__ = [
    "AsyncClient",
    "Client",
    "ClusterStatus",
    "ConnectionError",
    "CorruptionError",
    "DougDBError",
    "InvalidArgumentError",
    "LocalCluster",
    "NodeInfo",
    "NotLeaderError",
    "PluginError",
    "ReplicaStatus",
    "ShardStatus",
    "TimeoutError",
    "UnavailableError",
    "connect",
    "errors",
    "plugins",
]
