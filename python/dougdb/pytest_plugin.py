"""DougDB's pytest plugin (entry point ``pytest11``): clusters as fixtures.

Fixtures:

- ``dougdb_cluster`` (function scope): a started ``LocalCluster`` (3 nodes, 1 shard unless
  the options say otherwise), stopped after the test;
- ``dougdb_client``: a ``Client`` on ``dougdb_cluster``;
- ``dougdb_cluster_factory``: ``factory(nodes=..., shards=..., **kw) -> LocalCluster``
  (started); every cluster it made is stopped after the test.

Options, as ``--dougdb-NAME`` flags or ``dougdb_NAME`` ini keys (the flag wins):
``nodes``, ``shards``, ``election-timeout-ms`` (``150,300`` or one number), ``keep-data``
(keep the data dirs of failed tests and print where), ``data-dir`` (where the clusters'
data dirs are made), ``log-lines`` (lines of each node log attached to a failure report).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

__all__ = ["DougDBOptions"]

_CLUSTERS = pytest.StashKey[list]()  # LocalCluster objects a test used (in order)
_REPORTS = pytest.StashKey[dict]()  # phase -> TestReport
_KEPT = pytest.StashKey[list]()  # on the config: (test id, data dir) kept for inspection
_OPTS = pytest.StashKey["DougDBOptions"]()  # on the config: resolved once, at configure

# name, type, default, help
_OPTIONS: list[tuple[str, str, Any, str]] = [
    ("nodes", "int", 3, "nodes of the dougdb_cluster fixture (default 3)"),
    ("shards", "int", 1, "shards of the dougdb_cluster fixture (default 1)"),
    (
        "election-timeout-ms",
        "str",
        None,
        "election timeout of fixture clusters: MIN,MAX or one number (default: LocalCluster's)",
    ),
    ("keep-data", "bool", False, "keep the data dirs of failed tests and print where"),
    ("data-dir", "str", None, "parent dir of the fixture clusters' data dirs (default: temp)"),
    ("log-lines", "int", 40, "lines of each node log attached to a failure report"),
]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dougdb", "DougDB cluster fixtures")
    for name, kind, default, help_text in _OPTIONS:
        dest = "dougdb_" + name.replace("-", "_")
        if kind == "bool":
            group.addoption(f"--dougdb-{name}", dest=dest, action="store_true", default=None,
                            help=help_text)
            parser.addini(dest, help_text, type="bool", default=default)
        else:
            group.addoption(f"--dougdb-{name}", dest=dest, default=None, help=help_text)
            parser.addini(dest, help_text, default=None)


def _election_timeout(text: str | None) -> tuple[int, int] | None:
    if text is None or str(text).strip() == "":
        return None
    parts = [p.strip() for p in str(text).replace("-", ",").split(",") if p.strip()]
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise pytest.UsageError(
            f"--dougdb-election-timeout-ms: {text!r} is not MIN,MAX or one number of ms"
        ) from None
    if len(values) == 1:
        values = [values[0], values[0] * 2]
    if len(values) != 2 or not 0 < values[0] <= values[1]:
        raise pytest.UsageError(f"--dougdb-election-timeout-ms: {text!r}: need 0 < MIN <= MAX")
    return (values[0], values[1])


@dataclass(frozen=True)
class DougDBOptions:
    """The plugin's options, resolved: flag, else ini key, else default."""

    nodes: int = 3
    shards: int = 1
    election_timeout_ms: tuple[int, int] | None = None
    keep_data: bool = False
    data_dir: str | None = None
    log_lines: int = 40

    @classmethod
    def from_config(cls, config: pytest.Config) -> DougDBOptions:
        def get(name: str, kind: str, default: Any) -> Any:
            dest = "dougdb_" + name.replace("-", "_")
            value = config.getoption(dest, default=None)
            if value is None:
                value = config.getini(dest)
            if value is None or value == "":
                return default
            if kind == "int":
                try:
                    return int(value)
                except ValueError:
                    raise pytest.UsageError(
                        f"--dougdb-{name} / {dest}: {value!r} is not an integer"
                    ) from None
            return value

        nodes, shards = get("nodes", "int", 3), get("shards", "int", 1)
        if nodes < 1 or shards < 1:
            raise pytest.UsageError("--dougdb-nodes and --dougdb-shards must be >= 1")
        return cls(
            nodes=nodes,
            shards=shards,
            election_timeout_ms=_election_timeout(get("election-timeout-ms", "str", None)),
            keep_data=bool(get("keep-data", "bool", False)),
            data_dir=get("data-dir", "str", None),
            log_lines=max(0, get("log-lines", "int", 40)),
        )


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_KEPT] = []
    # Resolved here so that a bad value stops the run at once, as a usage error.
    config.stash[_OPTS] = DougDBOptions.from_config(config)


@pytest.fixture(scope="session")
def dougdb_options(pytestconfig: pytest.Config) -> DougDBOptions:
    """The resolved ``--dougdb-*`` / ``dougdb_*`` options."""
    return pytestconfig.stash[_OPTS]


def _test_failed(item: pytest.Item) -> bool:
    reports = item.stash.get(_REPORTS, {})
    return any(r.failed for r in reports.values())


@pytest.fixture
def dougdb_cluster_factory(
    request: pytest.FixtureRequest, dougdb_options: DougDBOptions
) -> Iterator[Callable[..., Any]]:
    """``factory(nodes=..., shards=..., **kw) -> LocalCluster``, started; all of them are
    stopped after the test. Keyword arguments go to ``LocalCluster``."""
    import dougdb  # noqa: PLC0415

    opts = dougdb_options
    made: list[tuple[Any, Path | None]] = []
    item = request.node
    used = item.stash.setdefault(_CLUSTERS, [])

    def factory(nodes: int | None = None, shards: int | None = None, **kw: Any) -> Any:
        kw.setdefault("nodes", opts.nodes if nodes is None else nodes)
        kw.setdefault("shards", opts.shards if shards is None else shards)
        if opts.election_timeout_ms is not None:
            kw.setdefault("election_timeout_ms", opts.election_timeout_ms)
        ours: Path | None = None
        if kw.get("data_dir") is None:
            base = opts.data_dir
            if base:
                os.makedirs(base, exist_ok=True)
            safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in item.name)[:60]
            ours = Path(tempfile.mkdtemp(prefix=f"dougdb-{safe}-", dir=base))
            kw["data_dir"] = str(ours)
        cluster = dougdb.LocalCluster(**kw)
        made.append((cluster, ours))
        used.append(cluster)
        cluster.start()
        return cluster

    yield factory

    errors: list[str] = []
    for cluster, _ in reversed(made):
        try:
            cluster.stop()
        except Exception as e:  # noqa: BLE001 - stop every cluster, report after
            errors.append(f"{type(e).__name__}: {e}")
    keep = opts.keep_data and _test_failed(item)
    for _, ours in made:
        if ours is None:
            continue
        if keep:
            request.config.stash[_KEPT].append((item.nodeid, str(ours)))
        else:
            shutil.rmtree(ours, ignore_errors=True)
    if errors:
        pytest.fail("stopping a DougDB cluster failed: " + "; ".join(errors), pytrace=False)


@pytest.fixture
def dougdb_cluster(dougdb_cluster_factory: Callable[..., Any]) -> Any:
    """A started ``LocalCluster`` (``--dougdb-nodes`` x ``--dougdb-shards``, default 3 x 1),
    stopped after the test."""
    return dougdb_cluster_factory()


@pytest.fixture
def dougdb_client(dougdb_cluster: Any) -> Iterator[Any]:
    """A ``dougdb.Client`` on ``dougdb_cluster`` (5 s default deadline)."""
    client = dougdb_cluster.client()
    yield client
    close = getattr(client, "close", None)
    if callable(close):
        close()


def _node_logs(cluster: Any) -> list[tuple[str, Path]]:
    """``(label, path)`` of each node's log (and the facade's) in a cluster."""
    found: list[tuple[str, Path]] = []
    log_path = getattr(cluster, "log_path", None)
    root = getattr(cluster, "data_dir", None)
    if callable(log_path):
        for node in getattr(cluster, "nodes", []) or []:
            try:
                found.append((f"node {node.id}", Path(log_path(node.id))))
            except Exception:  # noqa: BLE001 - a report must not fail on a missing log
                continue
        if root and (Path(root) / "logs" / "facade.log").is_file():
            found.append(("facade", Path(root) / "logs" / "facade.log"))
    elif root:
        found = [(p.stem, p) for p in sorted(Path(root).rglob("*.log"))[:32]]
    return found


def _tail(path: Path, lines: int) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            data = f.read()
    except OSError as e:
        return f"(cannot read {path}: {e})"
    text = data.decode("utf-8", "replace").splitlines()
    return "\n".join(text[-lines:]) if lines else ""


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    rep = outcome.get_result()
    item.stash.setdefault(_REPORTS, {})[rep.when] = rep
    if not rep.failed or rep.when == "teardown" and any(
        r.failed for w, r in item.stash[_REPORTS].items() if w != "teardown"
    ):
        return
    clusters = item.stash.get(_CLUSTERS, [])
    if not clusters:
        return
    opts = item.config.stash[_OPTS]
    for i, cluster in enumerate(clusters):
        prefix = f"dougdb cluster {i + 1}" if len(clusters) > 1 else "dougdb"
        for label, path in _node_logs(cluster):
            if opts.log_lines:
                rep.sections.append(
                    (f"{prefix} {label} log (last {opts.log_lines} lines of {path})",
                     _tail(path, opts.log_lines))
                )
        if opts.keep_data and rep.when != "teardown":
            rep.sections.append(
                (f"{prefix} data kept",
                 f"data dir kept for inspection: {cluster_data_dir(cluster)}")
            )


def cluster_data_dir(cluster: Any) -> str:
    """Where a cluster keeps its data (its ``data_dir``, else its first node's parent)."""
    root = getattr(cluster, "data_dir", None)
    if root:
        return str(root)
    nodes = getattr(cluster, "nodes", []) or []
    return str(Path(nodes[0].data_dir).parent) if nodes else "(unknown)"


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    # Runs judged by dougdb.testing (only if a test imported it: no import here).
    testing = sys.modules.get("dougdb.testing.pytest")
    runs = getattr(testing, "RUNS", None) if testing is not None else None
    if runs:
        terminalreporter.section("dougdb.testing: runs under faults")
        for test, line in runs:
            terminalreporter.write_line(f"{test}: {line}")
    kept = config.stash.get(_KEPT, [])
    if not kept:
        return
    terminalreporter.section("dougdb: data dirs kept (--dougdb-keep-data)")
    for nodeid, path in kept:
        terminalreporter.write_line(f"{nodeid}: {path}")
