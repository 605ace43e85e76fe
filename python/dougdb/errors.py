"""The exceptions dougdb raises: all are :class:`DougDBError` subclasses.

The native module raises these very classes (it imports them from here), so catching
``dougdb.TimeoutError`` also catches the builtin ``TimeoutError`` family and vice versa
where documented below.
"""

from __future__ import annotations

import builtins

__all__ = [
    "ConnectionError",
    "CorruptionError",
    "DougDBError",
    "InvalidArgumentError",
    "NotLeaderError",
    "PluginError",
    "TimeoutError",
    "UnavailableError",
]


class DougDBError(Exception):
    """Base class of every error dougdb raises."""


class UnavailableError(DougDBError):
    """No leader or no quorum within the call's timeout; a write may or may not have been
    applied. Retry later, or check ``cluster.status()``."""


class NotLeaderError(UnavailableError):
    """A pinned client's node does not lead the key's shard; the write was not proposed.

    ``leader_hint`` is the node id the answering node believes leads (or None);
    ``shard`` the shard the key routes to (or None when unknown).
    """

    def __init__(
        self, message: str, leader_hint: int | None = None, shard: int | None = None
    ) -> None:
        super().__init__(message)
        self.leader_hint = leader_hint
        self.shard = shard

    def __reduce__(self):  # keep the attributes across pickling (multiprocessing)
        return (type(self), (str(self), self.leader_hint, self.shard))


class TimeoutError(DougDBError, builtins.TimeoutError):
    """The call's deadline passed; a write may or may not have happened."""


class ConnectionError(DougDBError, builtins.ConnectionError):
    """No endpoint could be reached."""


class InvalidArgumentError(DougDBError, ValueError):
    """Empty key, key or value over the limit, or a bad option; nothing was applied."""


class PluginError(DougDBError):
    """A plugin failed to load or to run; the message names the plugin and the cause."""


class CorruptionError(DougDBError):
    """A checksum failed on disk; dougdb never answers with silently wrong data."""
