"""Every ``dougdb`` command, run as a subprocess (``python -m dougdb ...``)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

import dougdb
from conftest import builtin_plugin, wait_until


def run(*args: str, timeout: float = 60.0, stdin: bytes | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "dougdb", *args],
        input=stdin.decode("latin-1") if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.fixture(scope="module")
def ep(kv_cluster: Any) -> str:
    return ",".join(kv_cluster.endpoints)


def test_console_script(ep: str) -> None:
    script = shutil.which("dougdb", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("no dougdb console script next to this interpreter")
    out = subprocess.run([script, "status", "-e", ep], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "leader" in out.stdout


def test_help_and_usage_errors() -> None:
    assert run("--help").returncode == 0
    assert run("bench", "--help").returncode == 0
    bad = run("frobnicate")
    assert bad.returncode == 2
    assert run("get").returncode == 2  # missing KEY
    env = {k: v for k, v in os.environ.items() if k != "DOUGDB_ENDPOINTS"}
    missing = run("get", "k", env=env)
    assert missing.returncode == 2 and "--endpoints" in missing.stderr
    assert run("get", "k", "--endpoints", "x", "--consistency", "weak").returncode == 2


def test_put_get_delete_round_trip(ep: str, unique_prefix: bytes) -> None:
    key = unique_prefix.decode() + "cli"
    assert run("put", key, "hello world", "--endpoints", ep).returncode == 0
    got = run("get", key, "--endpoints", ep)
    assert (got.returncode, got.stdout) == (0, "hello world\n")
    eventual = run("get", key, "--endpoints", ep, "--consistency", "eventual", "--timeout", "3")
    assert eventual.returncode in (0, 3)
    deleted = run("delete", key, "--endpoints", ep)
    assert (deleted.returncode, deleted.stdout.strip()) == (0, "deleted")
    again = run("delete", key, "--endpoints", ep)
    assert (again.returncode, again.stdout.strip()) == (0, "absent")
    absent = run("get", key, "--endpoints", ep)
    assert absent.returncode == 3 and absent.stdout == "" and "absent" in absent.stderr


def test_values_printing_text_repr_hex(kv: Any, ep: str, unique_prefix: bytes) -> None:
    kv.put(unique_prefix + b"bin", b"\x00\xffab")
    kv.put(unique_prefix + b"empty", b"")
    key = unique_prefix.decode()
    assert run("get", key + "bin", "-e", ep).stdout == repr(b"\x00\xffab") + "\n"
    assert run("get", key + "bin", "-e", ep, "--format", "hex").stdout == "00ff6162\n"
    empty = run("get", key + "empty", "-e", ep)
    assert (empty.returncode, empty.stdout) == (0, "\n")  # b"" is a value, not absent
    hexkey = (unique_prefix + b"h\x01").hex()
    assert run("put", hexkey, "c0ffee", "--hex", "-e", ep).returncode == 0
    assert kv.get(unique_prefix + b"h\x01") == b"\xc0\xff\xee"
    assert run("get", hexkey, "--hex", "-e", ep).stdout == "c0ffee\n"
    assert run("put", key + "in", "--stdin", "-e", ep, stdin=b"from stdin").returncode == 0
    assert kv.get(unique_prefix + b"in") == b"from stdin"
    assert run("put", "zz", "--hex", "-e", ep).returncode == 2  # neither VALUE nor --stdin


def test_scan(kv: Any, ep: str, unique_prefix: bytes) -> None:
    kv.put_many([(unique_prefix + b"%02d" % i, b"v%d" % i) for i in range(12)])
    p = unique_prefix.decode()
    out = run("scan", p, p + "\x7f", "-e", ep)
    assert out.returncode == 0
    lines = out.stdout.splitlines()
    assert lines == [f"{p}{i:02d}\tv{i}" for i in range(12)]
    limited = run("scan", p, p + "\x7f", "--limit", "3", "--keys-only", "-e", ep)
    assert limited.stdout.splitlines() == [f"{p}{i:02d}" for i in range(3)]
    assert run("scan", p, "--limit", "0", "-e", ep).stdout == ""
    assert run("scan", p, "--limit", "-1", "-e", ep).returncode == 2


def test_status(kv_cluster: Any, ep: str) -> None:
    out = run("status", "--endpoints", ep)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    for word in ("shard", "role", "term", "commit", "applied", "leader", "follower"):
        assert word in text
    assert len([ln for ln in text.splitlines() if " leader " in f" {ln} "]) >= 4
    js = json.loads(run("status", "--json", "-e", kv_cluster.endpoints[0]).stdout)
    assert sorted(s["shard"] for s in js["shards"]) == [0, 1, 2, 3]


def test_bench_json_and_table(ep: str) -> None:
    out = run("bench", "-e", ep, "--op", "put", "--clients", "4", "--seconds", "1",
              "--value-size", "32", "--keys", "100", "--json", "--seed", "5")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["op"] == "put" and result["ops"] > 0 and result["errors"] == 0
    assert result["p50_ms"] <= result["p99_ms"] <= result["p999_ms"] <= result["max_ms"]
    assert "seed 5" in out.stderr and "ops/s" in out.stderr  # header and progress
    for op in ("get", "get-eventual"):
        table = run("bench", "-e", ep, "--op", op, "--clients", "2", "--seconds", "0.5",
                    "--keys", "50", "--no-progress")
        assert table.returncode == 0, table.stderr
        assert "p999 ms" in table.stdout and op in table.stdout


def test_client_errors_exit_1_without_traceback() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = run("get", "k", "--endpoints", f"127.0.0.1:{port}", "--timeout", "1")
    assert out.returncode == 1
    assert out.stderr.startswith("error: ")
    big = run("put", "k" * 5000, "v", "--endpoints", f"127.0.0.1:{port}", "--timeout", "1")
    assert big.returncode == 1 and big.stderr.startswith("error: ")


def _reader(proc: subprocess.Popen[str], lines: list[str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)


def test_up_serves_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "dougdb", "up", "--nodes", "1", "--shards", "2",
         "--interval", "0.2", "--data-dir", str(tmp_path / "up")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    lines: list[str] = []
    t = threading.Thread(target=_reader, args=(proc, lines), daemon=True)
    t.start()
    try:
        line = wait_until(
            lambda: next((ln for ln in lines if ln.startswith("endpoints: ")), None),
            timeout=30.0, what="dougdb up to print its endpoints",
        )
        endpoints = line.split(": ", 1)[1].strip()
        db = dougdb.connect(endpoints, timeout=5.0)
        db.put(b"up", b"yes")
        assert db.get(b"up") == b"yes"
        wait_until(lambda: any("leader" in ln for ln in lines), what="a status table")
        pids = [int(ln.split(" pid ")[1].split()[0]) for ln in lines if " pid " in ln]
        assert pids
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
        t.join(timeout=5)
        assert "stopped" in "".join(lines)
        for pid in pids:
            wait_until(lambda pid=pid: not _alive(pid), timeout=10.0, what=f"node {pid} gone")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie of an already-reaped parent counts as gone
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_node_and_facade_commands(tmp_path: Path) -> None:
    node_port, facade_port = _free_port(), _free_port()
    cluster_file = tmp_path / "cluster.json"
    cluster_file.write_text(json.dumps({
        "cluster_id": 4242,
        "nodes": [{"id": 1, "address": f"127.0.0.1:{node_port}"}],
        "shards": [{"id": 0, "replicas": [1]}],
        "routing": {"name": "hash"},
    }))
    assert run("node", "--help").returncode == 0
    procs = [subprocess.Popen(
        [sys.executable, "-m", "dougdb", "node", "--id", "1", "--listen",
         f"127.0.0.1:{node_port}", "--data-dir", str(tmp_path / "n1"),
         "--cluster", str(cluster_file)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)]
    try:
        db = dougdb.connect(f"127.0.0.1:{node_port}", timeout=5.0)
        wait_until(lambda: db.put(b"n", b"1") is None, timeout=30.0, what="the node to serve")
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "dougdb", "facade", "--listen", f"127.0.0.1:{facade_port}",
             "--cluster", str(cluster_file)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
        via = dougdb.connect(f"127.0.0.1:{facade_port}", timeout=5.0)
        wait_until(lambda: via.get(b"n") == b"1", timeout=30.0, what="the facade to serve")
        via.put(b"f", b"2")
        assert db.get(b"f") == b"2"
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
            assert p.wait(timeout=20) == 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def test_plugin_test_command() -> None:
    out = run("plugin", "test", str(builtin_plugin("hash_router")),
              "--keys", "user:42,a,abc", "--shards", "3")
    assert out.returncode == 0, out.stderr
    rows = [ln.split() for ln in out.stdout.splitlines()[2:5]]
    assert rows[0] == ["user:42", "2"]
    assert "fuel used:" in out.stdout
    bad = run("plugin", "test", str(Path(__file__)), "--keys", "a")
    assert bad.returncode == 1 and bad.stderr.startswith("error: ")
    assert run("plugin", "test", "/nonexistent.wasm").returncode == 2


def test_plugin_new_build_test(tmp_path: Path) -> None:
    new = run("plugin", "new", "my-router", "--dir", str(tmp_path))
    assert new.returncode == 0, new.stderr
    crate = tmp_path / "my-router"
    assert "#[router]" in (crate / "src" / "lib.rs").read_text()
    assert run("plugin", "new", "my-router", "--dir", str(tmp_path)).returncode == 1  # exists
    assert run("plugin", "new", "9bad", "--dir", str(tmp_path)).returncode == 1
    comp = run("plugin", "new", "my-policy", "--kind", "compaction", "--dir", str(tmp_path))
    assert comp.returncode == 0 and "#[compaction_policy]" in (
        tmp_path / "my-policy" / "src" / "lib.rs").read_text()
    # A target dir shared between runs keeps this to the SDK and the crate after the first.
    target = Path(os.environ.get("DOUGDB_TEST_PLUGIN_TARGET", "/tmp/dougdb-test-plugin-target"))
    build = run("plugin", "build", str(crate), "--offline", "--quiet", "--target-dir",
                str(target), timeout=300.0)
    assert build.returncode == 0, build.stderr
    wasm = Path(build.stdout.strip().splitlines()[-1])
    assert wasm.name == "my_router.wasm" and wasm.is_file()
    tested = run("plugin", "test", str(wasm), "--keys", "user:42", "--shards", "1024")
    assert tested.returncode == 0 and "880" in tested.stdout  # the scaffold is hash_route
