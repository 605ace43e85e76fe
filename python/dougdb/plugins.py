"""``dougdb.plugins.load(path)``: call a wasm routing plugin directly (tests, notebooks),
under the same host and limits as nodes and clients, with the fuel each call used."""

from __future__ import annotations

import os
from collections.abc import Iterable

from . import _native
from ._convert import BytesLike, to_bytes

__all__ = ["RoutingPlugin", "load"]


class RoutingPlugin:
    """A loaded routing plugin."""

    def __init__(self, native: _native.Router) -> None:
        self._native = native

    def route(self, keys: Iterable[BytesLike], shard_count: int) -> list[int]:
        """The shard in ``[0, shard_count)`` of each key (str encoded UTF-8), in order.
        Raises PluginError when the plugin traps, runs out of fuel or answers out of
        range, InvalidArgumentError for a bad call (e.g. ``shard_count=0``)."""
        from .errors import InvalidArgumentError

        if (
            isinstance(shard_count, bool)
            or not isinstance(shard_count, int)
            or not (0 <= shard_count < 2**32)
        ):
            raise InvalidArgumentError(
                f"shard_count must be an int >= 1, got {shard_count!r}"
            )
        return self._native.route([to_bytes(k, "key") for k in keys], shard_count)

    @property
    def last_fuel_used(self) -> int:
        """Fuel (about one unit per wasm instruction) the last call used."""
        return self._native.last_fuel_used

    #: Alias of :attr:`last_fuel_used`.
    fuel_used = last_fuel_used

    @property
    def name(self) -> str:
        return self._native.name

    @property
    def sha256(self) -> str:
        """Lowercase hex sha256 of the module's bytes (as cluster files name it)."""
        return self._native.sha256

    @property
    def path(self) -> str:
        return str(self._native.path)

    def __repr__(self) -> str:
        return f"<dougdb.plugins.RoutingPlugin {self.name!r} from {self.path}>"


def load(path: str | os.PathLike[str], config: bytes = b"") -> RoutingPlugin:
    """Loads the routing plugin in the ``.wasm`` file ``path`` (validated against the
    plugin ABI); ``config`` goes to its init export (the range router's split points).
    Raises PluginError naming the plugin and the cause when it does not load."""
    return RoutingPlugin(
        _native.load_plugin(os.fspath(path), to_bytes(config, "config"))
    )
