"""Every exception of API.md for its cause, and the class hierarchy against the builtins."""

from __future__ import annotations

import builtins
import socket
from typing import Any

import pytest

import dougdb
from conftest import PLUGIN_DIR


def test_hierarchy_matches_the_contract() -> None:
    assert issubclass(dougdb.DougDBError, Exception)
    for cls in (
        dougdb.UnavailableError,
        dougdb.NotLeaderError,
        dougdb.TimeoutError,
        dougdb.ConnectionError,
        dougdb.InvalidArgumentError,
        dougdb.PluginError,
        dougdb.CorruptionError,
    ):
        assert issubclass(cls, dougdb.DougDBError), cls
    assert issubclass(dougdb.NotLeaderError, dougdb.UnavailableError)
    assert issubclass(dougdb.TimeoutError, builtins.TimeoutError)
    assert issubclass(dougdb.ConnectionError, builtins.ConnectionError)
    assert issubclass(dougdb.InvalidArgumentError, ValueError)
    assert not issubclass(dougdb.PluginError, ValueError)
    assert dougdb.TimeoutError is not builtins.TimeoutError
    assert dougdb.ConnectionError is not builtins.ConnectionError


def test_errors_module_exports_the_same_classes() -> None:
    import dougdb.errors as errors

    assert errors.DougDBError is dougdb.DougDBError
    assert errors.NotLeaderError is dougdb.NotLeaderError


@pytest.mark.parametrize("key", [b"", ""])
@pytest.mark.parametrize("method", ["put", "get", "delete", "cas"])
def test_empty_key(kv: Any, key: Any, method: str) -> None:
    calls = {
        "put": lambda: kv.put(key, b"v"),
        "get": lambda: kv.get(key),
        "delete": lambda: kv.delete(key),
        "cas": lambda: kv.cas(key, None, b"v"),
    }
    with pytest.raises(dougdb.InvalidArgumentError) as info:
        calls[method]()
    assert isinstance(info.value, ValueError)
    assert str(info.value)


def test_empty_key_in_batches(kv: Any) -> None:
    with pytest.raises(dougdb.InvalidArgumentError):
        kv.put_many([(b"ok", b"1"), (b"", b"2")])
    with pytest.raises(dougdb.InvalidArgumentError):
        kv.get_many([b"ok", b""])


def test_oversize_key(kv: Any) -> None:
    with pytest.raises(dougdb.InvalidArgumentError) as info:
        kv.put(b"k" * 4097, b"v")
    assert isinstance(info.value, ValueError)
    with pytest.raises(dougdb.InvalidArgumentError):
        kv.get(b"k" * 4097)


def test_oversize_value(kv: Any, unique_prefix: bytes) -> None:
    key = unique_prefix + b"big"
    with pytest.raises(dougdb.InvalidArgumentError) as info:
        kv.put(key, b"x" * (1024 * 1024 + 1))
    assert isinstance(info.value, ValueError)
    assert kv.get(key) is None
    with pytest.raises(dougdb.InvalidArgumentError):
        kv.cas(key, None, b"x" * (1024 * 1024 + 1))
    with pytest.raises(dougdb.InvalidArgumentError):
        kv.put_many([(key, b"x" * (1024 * 1024 + 1))])


@pytest.mark.parametrize("bad", ["linearizable", "STRONG", "", "weak"])
def test_bad_consistency(kv: Any, bad: str) -> None:
    with pytest.raises(dougdb.InvalidArgumentError) as info:
        kv.get(b"k", consistency=bad)
    assert isinstance(info.value, ValueError)
    with pytest.raises(dougdb.InvalidArgumentError):
        kv.scan(b"a", b"b", consistency=bad)
    with pytest.raises(dougdb.InvalidArgumentError):
        kv.get_many([b"k"], consistency=bad)


def test_bad_types_are_invalid_argument(kv: Any) -> None:
    with pytest.raises((dougdb.InvalidArgumentError, TypeError)):
        kv.put(123, b"v")  # type: ignore[arg-type]


def test_negative_limit_or_timeout(kv: Any) -> None:
    with pytest.raises(dougdb.InvalidArgumentError):
        kv.scan(b"a", b"b", limit=-1)
    with pytest.raises(dougdb.InvalidArgumentError):
        kv.get(b"k", timeout=-1.0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_endpoints_connection_error() -> None:
    endpoints = f"127.0.0.1:{_free_port()},127.0.0.1:{_free_port()}"
    with pytest.raises(dougdb.ConnectionError) as info:
        db = dougdb.connect(endpoints, timeout=1.0)
        db.put(b"k", b"v")
    assert isinstance(info.value, builtins.ConnectionError)
    assert isinstance(info.value, dougdb.DougDBError)


def test_bad_endpoint_string() -> None:
    with pytest.raises(dougdb.InvalidArgumentError):
        dougdb.connect("", timeout=1.0)


def test_timeout_on_a_silent_server() -> None:
    """A listener that accepts and never answers: every call hits its deadline."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        address = f"127.0.0.1:{server.getsockname()[1]}"
        with pytest.raises((dougdb.TimeoutError, dougdb.ConnectionError)) as info:
            db = dougdb.connect(address, timeout=0.5)
            db.get(b"k")
        # The TCP handshake succeeds (the kernel accepts), so this is a deadline, but a
        # client may also classify a peer that never speaks HTTP/2 as unreachable.
        assert isinstance(info.value, dougdb.DougDBError)


def test_timeout_when_quorum_is_lost(dougdb_cluster_factory: Any) -> None:
    cluster = dougdb_cluster_factory(nodes=3, shards=1)
    db = cluster.client()
    db.put(b"before", b"1")
    leader = cluster.wait_for_leader()
    for n in cluster.nodes:
        if n.id != leader:
            cluster.kill(n.id)
    with pytest.raises((dougdb.TimeoutError, dougdb.UnavailableError)) as info:
        db.put(b"after", b"2", timeout=1.0)
    if isinstance(info.value, dougdb.TimeoutError):
        assert isinstance(info.value, builtins.TimeoutError)
    with pytest.raises((dougdb.TimeoutError, dougdb.UnavailableError)):
        db.get(b"before", timeout=1.0)  # a strong read needs a quorum too
    # an eventual read is served by the leader's own replica, quorum or not
    assert db.get(b"before", consistency="eventual", timeout=2.0) == b"1"


def test_bad_plugin_file_plugin_error(tmp_path: Any) -> None:
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(b"this is not wasm")
    with pytest.raises(dougdb.PluginError) as info:
        dougdb.plugins.load(str(bad))
    assert "bad" in str(info.value)


def test_truncated_wasm_plugin_error(tmp_path: Any) -> None:
    src = PLUGIN_DIR / "hash_router.wasm"
    if not src.is_file():
        pytest.skip("run scripts/build-plugins.sh")
    bad = tmp_path / "half.wasm"
    bad.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    with pytest.raises(dougdb.PluginError):
        dougdb.plugins.load(str(bad))


def test_timeout_on_a_paused_pinned_node(dougdb_cluster: Any) -> None:
    cluster = dougdb_cluster
    pinned = cluster.client(node=1)
    cluster.pause(1)
    try:
        with pytest.raises(dougdb.TimeoutError) as info:
            pinned.get(b"k", consistency="eventual", timeout=0.5)
        assert isinstance(info.value, builtins.TimeoutError)
    finally:
        cluster.resume(1)


def test_bad_routing_plugin_for_a_cluster(tmp_path: Any) -> None:
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(b"\x00asm garbage")
    with pytest.raises(dougdb.PluginError):
        with dougdb.LocalCluster(nodes=1, shards=2, routing=str(bad), data_dir=str(tmp_path / "d")):
            pass


def test_missing_plugin_file(tmp_path: Any) -> None:
    with pytest.raises(dougdb.DougDBError):
        dougdb.plugins.load(str(tmp_path / "nope.wasm"))


def test_bad_cluster_options() -> None:
    with pytest.raises(dougdb.InvalidArgumentError):
        dougdb.LocalCluster(nodes=0).start()
    with pytest.raises(dougdb.InvalidArgumentError):
        dougdb.LocalCluster(nodes=1, shards=0).start()
