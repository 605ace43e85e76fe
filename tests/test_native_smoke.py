"""End-to-end smoke tests of the native layer: Python -> pyo3 -> dougdb-client -> gRPC ->
Raft -> disk and back, on real node processes. The broader suite is in the other files.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from typing import Any, Callable

import dougdb
import pytest


def poll(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Polls ``condition`` until truthy (returned) or fails after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except dougdb.DougDBError as err:
            last = err
        time.sleep(0.02)  # polling against a deadline
    pytest.fail(f"timed out waiting for {what} (last error: {last!r})")


@pytest.fixture
def cluster() -> Iterator[dougdb.LocalCluster]:
    with dougdb.LocalCluster(nodes=3, shards=2) as c:
        yield c


def test_put_get_both_consistencies_str_and_bytes(cluster: dougdb.LocalCluster) -> None:
    db = cluster.client()
    db.put(b"k", b"v")
    db.put("name", "zoë")
    db.put(b"empty", b"")
    assert db.get(b"k") == b"v"
    assert db.get("name") == "zoë".encode()
    assert db.get(b"empty") == b"" and db.get(b"absent") is None
    poll(lambda: db.get(b"k", consistency="eventual") == b"v", 5, "an eventual read")
    assert db.delete(b"k") is True and db.delete(b"k") is False
    assert db.cas(b"c", None, b"1") is True and db.cas(b"c", b"2", b"3") is False
    assert db.cas(b"c", b"1", None) is True and db.get(b"c") is None
    db.put_many([(b"a", b"1"), (b"b", b"2")])
    assert db.get_many([b"a", b"zz", b"b"]) == [b"1", None, b"2"]
    assert db.scan(b"a", b"c") == [(b"a", b"1"), (b"b", b"2")]
    assert db.scan(limit=0) == []
    assert cluster.shard_for(b"a") in (0, 1)
    st = cluster.status()
    assert [s.shard for s in st.shards] == [0, 1]
    assert all(s.leader is not None for s in st.shards)
    assert "<table" in st._repr_html_() and "<table" in cluster._repr_html_()


def test_invalid_arguments(cluster: dougdb.LocalCluster) -> None:
    db = cluster.client()
    for call in (
        lambda: db.put(b"", b"v"),
        lambda: db.get(b"k", consistency="linearizable"),
        lambda: db.get(b"k", timeout=-1),
        lambda: db.put(b"k", 42),  # type: ignore[arg-type]
        lambda: cluster.kill(9),
    ):
        with pytest.raises(dougdb.InvalidArgumentError) as err:
            call()
        assert isinstance(err.value, ValueError)


def test_connection_error_and_plugin_error(tmp_path: Any) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on (closed right away)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(dougdb.ConnectionError) as err:
        dougdb.connect(f"127.0.0.1:{port}", timeout=0.5)
    assert isinstance(err.value, ConnectionError)
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(b"not wasm")
    with pytest.raises(dougdb.PluginError):
        dougdb.plugins.load(str(bad))


def test_pinned_follower_write_is_not_leader_and_paused_node_times_out(
    cluster: dougdb.LocalCluster,
) -> None:
    key = b"pinned"
    shard = cluster.shard_for(key)
    leader = cluster.wait_for_leader(shard)
    follower = next(n for n in (1, 2, 3) if n != leader)
    with pytest.raises(dougdb.NotLeaderError) as err:
        cluster.client(node=follower).put(key, b"v")
    assert isinstance(err.value, dougdb.UnavailableError)
    assert err.value.leader_hint in (None, leader)
    pinned = cluster.client(node=follower, timeout=1.0)
    cluster.pause(follower)
    try:
        with pytest.raises((dougdb.TimeoutError, dougdb.ConnectionError)) as err2:
            pinned.get(key, consistency="eventual", timeout=0.5)
        assert isinstance(err2.value, (TimeoutError, ConnectionError))
        st = cluster.status()  # a paused node must not stall it
        assert not st.shard(shard).replicas[follower - 1].alive
    finally:
        cluster.resume(follower)


def test_ctrl_c_interrupts_a_hung_call(cluster: dougdb.LocalCluster) -> None:
    import signal
    import threading

    pinned = cluster.client(node=2, timeout=60.0)
    cluster.pause(2)
    # The node is stopped: a short call times out (so the long one below hangs for real).
    with pytest.raises(dougdb.TimeoutError):
        pinned.get(b"k", consistency="eventual", timeout=0.5)
    # Ctrl-C, as a user presses it: SIGINT to this process while the call waits. It is
    # repeated (bounded) until the call ends, so a busy machine delaying the first one
    # cannot make the test pass or fail by timing; the call must end by the interrupt.
    done = threading.Event()

    def interrupt() -> None:
        for _ in range(16):
            if done.wait(0.3):
                return
            os.kill(os.getpid(), signal.SIGINT)

    def on_sigint(signum: int, frame: Any) -> None:
        if not done.is_set():  # a late repeat after the call ended is dropped
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)
    sender = threading.Thread(target=interrupt, daemon=True)
    started = time.monotonic()
    try:
        sender.start()
        with pytest.raises(KeyboardInterrupt):
            value = pinned.get(b"k", consistency="eventual")  # hangs: the node is stopped
            pytest.fail(f"a call to a paused node returned {value!r}")
        assert time.monotonic() - started < 5.0
    finally:
        done.set()
        sender.join()
        signal.signal(signal.SIGINT, previous)
        cluster.resume(2)


def test_kill_leader_elects_a_new_one_and_restart_catches_up(
    cluster: dougdb.LocalCluster,
) -> None:
    db = cluster.client()
    db.put_many([(b"before/%d" % i, b"%d" % i) for i in range(20)])
    old = cluster.wait_for_leader(0)
    cluster.kill(old)
    new = poll(
        lambda: (cluster.leader(0) or old) != old and cluster.leader(0),
        10,
        "a new leader",
    )
    assert new != old
    for i in range(20):
        db.put(b"after/%d" % i, b"%d" % i)
    assert db.get(b"before/7") == b"7"
    cluster.restart(old)
    pinned = cluster.client(node=old)
    poll(
        lambda: pinned.get(b"after/19", consistency="eventual") == b"19", 15, "catch-up"
    )


def test_partitioned_minority_cannot_write(cluster: dougdb.LocalCluster) -> None:
    key = b"part"
    shard = cluster.shard_for(key)
    old = cluster.wait_for_leader(shard)
    others = [n for n in (1, 2, 3) if n != old]
    cluster.partition([old], others)
    with pytest.raises(dougdb.DougDBError) as err:
        cluster.client(node=old, timeout=1.5).put(key, b"minority", timeout=1.5)
    assert isinstance(err.value, (dougdb.UnavailableError, dougdb.TimeoutError))
    majority = cluster.client()
    majority.put(key, b"majority")
    assert poll(
        lambda: cluster.leader(shard) in others and cluster.leader(shard), 10, "leader"
    )
    cluster.heal()
    pinned = cluster.client(node=old)
    poll(
        lambda: pinned.get(key, consistency="eventual") == b"majority",
        15,
        "the old leader to catch up",
    )
    assert majority.get(key) == b"majority"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_runtime_is_recreated_after_fork(cluster: dougdb.LocalCluster) -> None:
    db = cluster.client()
    db.put(b"forked", b"yes")
    pid = os.fork()
    if pid == 0:  # child: the parent's client must refuse, a new one must work
        code = 1
        try:
            try:
                db.get(b"forked")
            except dougdb.DougDBError:
                code = 0 if cluster.client().get(b"forked") == b"yes" else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    assert db.get(b"forked") == b"yes"


def test_no_child_outlives_stop() -> None:
    c = dougdb.LocalCluster(nodes=3).start()
    pids = [n.pid for n in c.nodes]
    data_dir = c.data_dir
    c.stop()
    assert not os.path.exists(data_dir)
    for pid in pids:
        assert pid is not None
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_python_dash_m_node_reports_bad_usage() -> None:
    import subprocess

    out = subprocess.run(
        [sys.executable, "-m", "dougdb", "node", "--id"],
        check=False,
        capture_output=True,
        timeout=60,
    )
    assert out.returncode == 2, out
