"""Shared clusters and helpers for the Python suite (public API only).

Clusters that no test breaks are shared per session (``kv_cluster``: 3 nodes x 4 shards) so
the suite stays fast; every test that injects faults makes its own through the plugin's
``dougdb_cluster_factory`` and leaves nothing behind. Tests that share a cluster write under
their own key prefix (``unique_prefix``).

Randomised tests take their seed from ``DOUGDB_TEST_SEED`` when set, else a fresh one, and
print it: rerun a failure with ``DOUGDB_TEST_SEED=<seed> pytest tests/... -k ...``.
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

import dougdb

REPO = Path(__file__).resolve().parent.parent
PLUGIN_DIR = REPO / "plugins" / "target" / "wasm32-unknown-unknown" / "release"


def wait_until(
    condition: Callable[[], Any],
    timeout: float = 10.0,
    what: str = "condition",
    interval: float = 0.02,
) -> Any:
    """Polls ``condition`` until it returns a truthy value (returned) or ``timeout`` passes
    (the test fails, naming ``what`` and the last exception seen)."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            value = condition()
            if value:
                return value
        except dougdb.DougDBError as e:  # transient while the cluster settles
            last_error = e
        if time.monotonic() >= deadline:
            detail = ""
            if last_error is not None:
                detail = f" (last error: {type(last_error).__name__}: {last_error})"
            pytest.fail(f"timed out after {timeout} s waiting for {what}{detail}", pytrace=False)
        time.sleep(interval)  # polling period, bounded by the deadline above


def test_seed() -> int:
    """A seed for one randomised test: ``$DOUGDB_TEST_SEED`` or a fresh one, printed."""
    env = os.environ.get("DOUGDB_TEST_SEED")
    seed = int(env) if env else random.SystemRandom().randrange(2**32)
    print(f"seed: {seed} (replay: DOUGDB_TEST_SEED={seed})")
    return seed


test_seed.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


@pytest.fixture
def seed() -> int:
    """The test's seed, printed (replay with ``DOUGDB_TEST_SEED``)."""
    return test_seed()


@pytest.fixture
def unique_prefix() -> bytes:
    """A key prefix no other test uses, so tests can share a cluster."""
    return b"t-" + uuid.uuid4().hex[:12].encode() + b"/"


def _session_cluster(tmp_root: Path, **kw: Any) -> Iterator[Any]:
    data = Path(tempfile.mkdtemp(prefix="dougdb-tests-", dir=tmp_root))
    cluster = dougdb.LocalCluster(data_dir=str(data), **kw)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="session")
def _tmp_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clusters")


@pytest.fixture(scope="session")
def kv_cluster(_tmp_root: Path) -> Iterator[Any]:
    """3 nodes x 4 shards, shared by every test that only reads and writes."""
    yield from _session_cluster(_tmp_root, nodes=3, shards=4)


@pytest.fixture(scope="session")
def kv(kv_cluster: Any) -> Any:
    """A ``Client`` on ``kv_cluster``."""
    return kv_cluster.client()


def builtin_plugin(name: str) -> Path:
    """The built-in plugin ``name`` (``hash_router``...) built by scripts/build-plugins.sh;
    skips the test when it was not built."""
    path = PLUGIN_DIR / f"{name}.wasm"
    if not path.is_file():
        pytest.skip(f"{path} missing: run scripts/build-plugins.sh")
    return path


def leader_of(cluster: Any, shard: int = 0, timeout: float = 10.0) -> int:
    """The shard's leader once one is known by every live node's answer."""
    return int(cluster.wait_for_leader(shard, timeout=timeout))


def other_nodes(cluster: Any, *excluded: int) -> list[int]:
    return [n.id for n in cluster.nodes if n.id not in excluded]
