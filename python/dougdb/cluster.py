"""``LocalCluster``: a real multi-node DougDB cluster as child processes of this
interpreter, with controls to break it (kill, pause, partition, cut) and look at it."""

from __future__ import annotations

import html
import os
import shutil
import signal
import tempfile
import time
import weakref
from collections.abc import Sequence
from typing import Any

from typing_extensions import Self

from . import _layout, _native
from ._convert import BytesLike, check_timeout, to_key
from ._process import Child, free_ports, kill_all
from .client import Client, connect
from .errors import DougDBError, InvalidArgumentError, UnavailableError
from .status import ClusterStatus, NodeInfo, build_status

__all__ = ["LocalCluster"]

#: Deadline of one Admin RPC to a node we believe is up (fault controls).
_ADMIN_TIMEOUT = 2.0
#: How long status() and leader() wait for a node: a paused node must not stall them.
_STATUS_TIMEOUT = 0.3
#: Attempts at a fresh bootstrap when a port picked for a node was taken meanwhile.
_BOOTSTRAP_ATTEMPTS = 3


def _finalize(children: list[Child], remove_dir: str | None) -> None:
    kill_all(children)
    if remove_dir:
        shutil.rmtree(remove_dir, ignore_errors=True)


class LocalCluster:
    """A local DougDB cluster: ``nodes`` node processes hosting ``shards`` Raft groups
    (every node a replica of every shard unless ``replicas`` says how many), data in
    ``data_dir`` (a temp dir, removed by ``stop()``, when None).

    ``routing``: ``"hash"`` (default), ``"range"`` (split points from ``range_splits``, or
    evenly over ``a``..``z``) or a ``.wasm`` path; ``compaction``: ``"leveled"``
    (default), ``"tiered"`` or a ``.wasm`` path; ``facade=True`` also starts a facade;
    ``election_timeout_ms=(low, high)`` sets the Raft tick (elections take 15-30 ticks);
    ``snapshot_entries=N`` snapshots and compacts the log every N entries.
    """

    def __init__(
        self,
        nodes: int = 3,
        shards: int = 1,
        data_dir: str | os.PathLike[str] | None = None,
        routing: str | None = None,
        compaction: str | None = None,
        facade: bool = False,
        election_timeout_ms: tuple[int, int] = (150, 300),
        snapshot_entries: int | None = None,
        *,
        replicas: int | None = None,
        range_splits: Sequence[str] | None = None,
        lease_reads: bool = False,
        start_timeout: float = 30.0,
        client_timeout: float = 5.0,
    ) -> None:
        for name, value in (("nodes", nodes), ("shards", shards)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidArgumentError(f"{name} must be an int >= 1, got {value!r}")
        if snapshot_entries is not None and (
            isinstance(snapshot_entries, bool)
            or not isinstance(snapshot_entries, int)
            or snapshot_entries < 1
        ):
            raise InvalidArgumentError(
                f"snapshot_entries must be an int >= 1 or None, got {snapshot_entries!r}"
            )
        self._n = nodes
        self._shard_count = shards
        self._placement = _layout.placement(nodes, shards, replicas)
        self._routing = _layout.routing_entry(routing, shards, range_splits)
        self._compaction = _layout.compaction_entry(compaction)
        self._tick_ms = _layout.tick_ms(election_timeout_ms)
        self._snapshot_entries = snapshot_entries
        self._lease_reads = bool(lease_reads)
        self._want_facade = bool(facade)
        self._start_timeout = check_timeout(start_timeout, "start_timeout") or 30.0
        self._client_timeout = check_timeout(client_timeout, "client_timeout") or 5.0
        self._own_dir = data_dir is None
        self.data_dir = (
            tempfile.mkdtemp(prefix="dougdb-cluster-")
            if data_dir is None
            else os.path.abspath(os.fspath(data_dir))
        )
        self.cluster_file = os.path.join(self.data_dir, "cluster.json")
        self._addresses: dict[int, str] = {}
        self._children: dict[int, Child] = {}
        self._facade: Child | None = None
        self._facade_address: str | None = None
        self._cuts: set[frozenset[int]] = set()
        self._client: Client | None = None
        self._started = False
        # Every child ever started, for the finalizer (which must not reference self).
        self._all_children: list[Child] = []
        self._finalizer = weakref.finalize(
            self,
            _finalize,
            self._all_children,
            self.data_dir if self._own_dir else None,
        )

    # ---- lifecycle -------------------------------------------------------------------

    def start(self) -> LocalCluster:
        """Starts every node (and the facade), returns once every shard has a leader."""
        if self._started:
            return self
        if not self._finalizer.alive:
            if self._own_dir:
                raise DougDBError(
                    "this LocalCluster was stopped and its temp dir removed; make a new one"
                )
            self._all_children = []
            self._finalizer = weakref.finalize(
                self, _finalize, self._all_children, None
            )
        os.makedirs(os.path.join(self.data_dir, "logs"), exist_ok=True)
        if "path" in self._routing:
            # Fail fast, as PluginError naming the plugin, rather than as a node that
            # refuses to start (the nodes load it the same way).
            from .plugins import load

            load(self._routing["path"])
        try:
            self._bootstrap()
            deadline = time.monotonic() + self._start_timeout
            for shard in range(self._shard_count):
                self.wait_for_leader(
                    shard, timeout=max(0.1, deadline - time.monotonic())
                )
            if self._want_facade:
                self._start_facade()
        except BaseException:
            self._kill_everything()
            raise
        self._started = True
        return self

    def _bootstrap(self) -> None:
        if os.path.exists(self.cluster_file):
            # A data dir of an earlier LocalCluster: same cluster, same addresses.
            existing = _layout.read_json(self.cluster_file)
            self._addresses = {
                int(n["id"]): str(n["address"]) for n in existing["nodes"]
            }
            if sorted(self._addresses) != list(range(1, self._n + 1)):
                raise InvalidArgumentError(
                    f"{self.cluster_file} describes nodes {sorted(self._addresses)}, not "
                    f"1..{self._n}: use another data_dir or the same nodes= as before"
                )
            self._placement = {
                int(s["id"]): list(s["replicas"]) for s in existing["shards"]
            }
            self._shard_count = len(self._placement)
            self._start_nodes()
            return
        for attempt in range(_BOOTSTRAP_ATTEMPTS):
            # The cluster file needs every address before any node starts, so ports are
            # picked by binding 127.0.0.1:0 and closing again; if another process takes
            # one before its node binds it, the node fails with "in use" and the whole
            # (still empty) bootstrap is redone on new ports.
            ports = free_ports(self._n)
            self._addresses = {
                n: f"127.0.0.1:{ports[n - 1]}" for n in range(1, self._n + 1)
            }
            _layout.write_json(
                self.cluster_file,
                _layout.cluster_file(
                    self._addresses, self._placement, self._routing, self._compaction
                ),
            )
            try:
                self._start_nodes()
                return
            except DougDBError as err:
                self._kill_everything()
                if "in use" not in str(err) or attempt + 1 == _BOOTSTRAP_ATTEMPTS:
                    raise
                os.remove(self.cluster_file)
                for n in range(1, self._n + 1):
                    shutil.rmtree(self._node_dir(n), ignore_errors=True)

    def _start_nodes(self) -> None:
        for n in range(1, self._n + 1):
            self._spawn(n)
        for n in range(1, self._n + 1):
            self._children[n].wait_serving(self._start_timeout)

    def _spawn(self, n: int) -> Child:
        argv = [
            "node",
            "--id", str(n),
            "--listen", self._addresses[n],
            "--data-dir", self._node_dir(n),
            "--cluster", self.cluster_file,
            "--fault-injection",
            "--tick-ms", str(self._tick_ms),
        ]  # fmt: skip
        if self._snapshot_entries is not None:
            argv += ["--snapshot-entries", str(self._snapshot_entries)]
        if self._lease_reads:
            argv.append("--lease-reads")
        child = Child(argv, self._log_path(f"node-{n}"))
        self._children[n] = child
        self._all_children.append(child)
        return child

    def _start_facade(self) -> None:
        argv = ["facade", "--listen", "127.0.0.1:0", "--cluster", self.cluster_file]
        child = Child(argv, self._log_path("facade"))
        self._all_children.append(child)
        self._facade = child
        self._facade_address = child.wait_serving(self._start_timeout)

    def stop(self) -> None:
        """Stops every process gracefully (SIGKILL after 10 s) and removes the temp dir
        this cluster made. Idempotent."""
        if self._client is not None:
            self._client.close()
            self._client = None
        running = [c for c in self._all_children if c.running()]
        for child in running:
            child.terminate()
        deadline = time.monotonic() + 10.0
        for child in running:
            child.wait_stopped(max(0.1, deadline - time.monotonic()))
        self._started = False
        self._finalizer()  # reaps, removes the temp dir, and never runs again

    def _kill_everything(self) -> None:
        kill_all(self._all_children)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- node controls ---------------------------------------------------------------

    def kill(self, n: int) -> None:
        """SIGKILL node ``n``; its data dir stays."""
        self._child(n).kill()

    def stop_node(self, n: int) -> None:
        """Stops node ``n`` gracefully (SIGTERM; SIGKILL after 10 s)."""
        self._child(n).stop(10.0)

    def restart(self, n: int) -> None:
        """Starts node ``n`` again on its data dir and address (stopping it first if it
        runs); returns once it answers RPCs. Raises DougDBError with its log's tail if it
        cannot start."""
        child = self._child(n)
        if child.running():
            child.stop(10.0)
        child = self._spawn(n)
        deadline = time.monotonic() + self._start_timeout
        child.wait_serving(self._start_timeout)
        while _native.admin_status([self._addresses[n]], _STATUS_TIMEOUT)[0] is None:
            if not child.running() or time.monotonic() > deadline:
                raise DougDBError(
                    f"node {n} printed that it serves but does not answer RPCs; its log "
                    f"({child.log_path}) ends with:\n{child.log_tail()}"
                )
            time.sleep(0.02)  # polling against a deadline
        self._apply_faults(n)

    def pause(self, n: int) -> None:
        """SIGSTOP node ``n``: it stops answering but keeps its connections. In force when
        it returns (every thread of the node has stopped)."""
        child = self._running_child(n)
        child.signal(signal.SIGSTOP)
        child.paused = True
        child.wait_paused()

    def resume(self, n: int) -> None:
        """SIGCONT node ``n`` (and gives it the partitions and cuts made meanwhile)."""
        child = self._child(n)
        if child.paused:
            child.signal(signal.SIGCONT)
            child.paused = False
            self._apply_faults(n)

    # ---- faults ----------------------------------------------------------------------

    def partition(self, *groups: Sequence[int]) -> None:
        """Drops traffic between the groups, both ways (nodes not named form one more
        group), replacing every earlier partition and cut; in force when it returns."""
        named: dict[int, int] = {}
        for g, group in enumerate(groups):
            for n in group:
                self._check_id(n)
                if n in named:
                    raise InvalidArgumentError(
                        f"node {n} is in two groups of the partition"
                    )
                named[n] = g
        group_of = {n: named.get(n, len(groups)) for n in self._ids()}
        self._cuts = {
            frozenset((a, b))
            for a in self._ids()
            for b in self._ids()
            if a < b and group_of[a] != group_of[b]
        }
        for n in self._ids():
            self._apply_faults(n)

    def cut(self, a: int, b: int) -> None:
        """Drops traffic on the one link ``a`` <-> ``b`` (added to earlier cuts)."""
        self._check_id(a)
        self._check_id(b)
        if a == b:
            raise InvalidArgumentError(f"cannot cut node {a} from itself")
        self._cuts.add(frozenset((a, b)))
        self._apply_faults(a)
        self._apply_faults(b)

    def heal(self) -> None:
        """Removes every partition and cut."""
        self._cuts = set()
        for n in self._ids():
            self._apply_faults(n)

    def _apply_faults(self, n: int) -> None:
        """Makes node ``n``'s fault table match ``self._cuts`` (skipped while it is down
        or paused: restart and resume call this again)."""
        child = self._children.get(n)
        if child is None or not child.running() or child.paused:
            return
        cut = sorted(p for pair in self._cuts if n in pair for p in pair if p != n)
        keep = [p for p in self._ids() if p != n and p not in cut]
        address = self._addresses[n]
        # Cut first, then heal the rest: no moment where a wanted cut is missing.
        if cut:
            _native.admin_partition(address, cut, _ADMIN_TIMEOUT)
        if keep:
            _native.admin_heal(address, keep, _ADMIN_TIMEOUT)

    # ---- looking at it ---------------------------------------------------------------

    def status(self) -> ClusterStatus:
        """Every shard's replicas as their nodes report them; a node that does not
        answer within a fraction of a second shows ``alive=False``, role "unknown"."""
        return build_status(self._placement, self._ask_status())

    def _ask_status(self) -> dict[int, dict[str, Any] | None]:
        ids = [n for n in self._ids() if self._answers(n)]
        answers = _native.admin_status(
            [self._addresses[n] for n in ids], _STATUS_TIMEOUT
        )
        out: dict[int, dict[str, Any] | None] = {n: None for n in self._ids()}
        out.update(zip(ids, answers))
        return out

    def _answers(self, n: int) -> bool:
        child = self._children.get(n)
        return child is not None and child.running() and not child.paused

    def leader(self, shard: int = 0) -> int | None:
        """The node leading ``shard`` in the highest term among the live nodes, or None."""
        self._check_shard(shard)
        return self.status().shard(shard).leader

    def wait_for_leader(self, shard: int = 0, timeout: float = 10.0) -> int:
        """The leader of ``shard``, waiting up to ``timeout`` s; else UnavailableError."""
        self._check_shard(shard)
        deadline = time.monotonic() + (check_timeout(timeout) or 10.0)
        while True:
            leader = self.leader(shard)
            if leader is not None:
                return leader
            if time.monotonic() > deadline:
                raise UnavailableError(
                    f"shard {shard} has no leader after {timeout} s; the live nodes may "
                    f"lack a quorum: check cluster.status() and the logs in "
                    f"{os.path.join(self.data_dir, 'logs')}"
                )
            time.sleep(0.02)  # polling against a deadline

    def shard_for(self, key: BytesLike) -> int:
        """The shard ``key`` routes to."""
        if self._client is None:
            self._client = self.client()
        return self._client.shard_for(to_key(key))

    @property
    def nodes(self) -> list[NodeInfo]:
        """Every node: id, address, pid, alive, data dir."""
        out = []
        for n in self._ids():
            child = self._children.get(n)
            running = child is not None and child.running()
            out.append(
                NodeInfo(
                    id=n,
                    address=self._addresses.get(n, ""),
                    pid=child.pid if running and child is not None else None,
                    alive=running and not (child is not None and child.paused),
                    data_dir=self._node_dir(n),
                    paused=bool(child is not None and running and child.paused),
                )
            )
        return out

    @property
    def endpoints(self) -> list[str]:
        """Node addresses, then the facade's when it was started."""
        out = [self._addresses[n] for n in sorted(self._addresses)]
        if self._facade_address:
            out.append(self._facade_address)
        return out

    @property
    def facade_address(self) -> str | None:
        return self._facade_address

    @property
    def shard_count(self) -> int:
        return self._shard_count

    def client(self, node: int | None = None, timeout: float | None = None) -> Client:
        """A client of the whole cluster, or (``node=n``) one pinned to node n alone."""
        t = check_timeout(timeout) or self._client_timeout
        if not self._addresses:
            raise DougDBError("the cluster is not started: call start() first")
        if node is None:
            return connect([self._addresses[n] for n in self._ids()], t)
        self._check_id(node)
        return connect([self._addresses[node]], t, pinned=True)

    def async_client(self, node: int | None = None, timeout: float | None = None):
        """Like :meth:`client`, as a :class:`dougdb.AsyncClient`."""
        from .aio import AsyncClient

        return AsyncClient(self.client(node, timeout))

    def log_path(self, n: int) -> str:
        """Node ``n``'s log file."""
        self._check_id(n)
        return self._log_path(f"node-{n}")

    # ---- helpers ---------------------------------------------------------------------

    def _ids(self) -> list[int]:
        return list(range(1, self._n + 1))

    def _node_dir(self, n: int) -> str:
        return os.path.join(self.data_dir, f"node-{n}")

    def _log_path(self, name: str) -> str:
        return os.path.join(self.data_dir, "logs", f"{name}.log")

    def _check_id(self, n: Any) -> None:
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= self._n:
            raise InvalidArgumentError(f"no node {n!r}: node ids are 1..{self._n}")

    def _check_shard(self, shard: Any) -> None:
        if (
            isinstance(shard, bool)
            or not isinstance(shard, int)
            or not (0 <= shard < self._shard_count)
        ):
            raise InvalidArgumentError(
                f"no shard {shard!r}: shards are 0..{self._shard_count - 1}"
            )

    def _child(self, n: int) -> Child:
        self._check_id(n)
        child = self._children.get(n)
        if child is None:
            raise DougDBError("the cluster is not started: call start() first")
        return child

    def _running_child(self, n: int) -> Child:
        child = self._child(n)
        if not child.running():
            raise DougDBError(f"node {n} is not running: restart({n}) first")
        return child

    def __repr__(self) -> str:
        state = "started" if self._started else "stopped"
        return (
            f"<dougdb.LocalCluster {self._n} nodes, {self._shard_count} shards, {state}, "
            f"{self.data_dir}>"
        )

    def _repr_html_(self) -> str:
        rows = "".join(
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(c))}</td>"
                for c in (i.id, i.address, i.pid or "-", "yes" if i.alive else "no")
            )
            + "</tr>"
            for i in self.nodes
        )
        nodes = (
            "<table><thead><tr><th>node</th><th>address</th><th>pid</th><th>alive</th>"
            f"</tr></thead><tbody>{rows}</tbody></table>"
        )
        status = self.status()._repr_html_() if self._started else ""
        return f"<div><p>{html.escape(repr(self))}</p>{nodes}{status}</div>"
