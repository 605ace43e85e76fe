"""The pytest plugin: its fixtures, its options (flag over ini key over default), node logs
attached to failure reports, and ``--dougdb-keep-data``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import dougdb

pytest_plugins = ["pytester"]


def test_dougdb_client_fixture(dougdb_client: Any, dougdb_cluster: Any) -> None:
    assert isinstance(dougdb_client, dougdb.Client)
    dougdb_client.put(b"fixture", b"ok")
    assert dougdb_client.get(b"fixture") == b"ok"
    assert len(dougdb_cluster.nodes) == 3
    assert [s.shard for s in dougdb_cluster.status().shards] == [0]


def test_dougdb_cluster_factory_makes_several(dougdb_cluster_factory: Any) -> None:
    a = dougdb_cluster_factory(nodes=1, shards=1)
    b = dougdb_cluster_factory(nodes=1, shards=2, election_timeout_ms=(100, 200))
    assert set(a.endpoints).isdisjoint(b.endpoints)
    a.client().put(b"k", b"a")
    b.client().put(b"k", b"b")
    assert a.client().get(b"k") == b"a"
    assert b.client().get(b"k") == b"b"
    assert len(b.status().shards) == 2


OPTIONS_TEST = """
def test_options(dougdb_options):
    print("OPTIONS", dougdb_options)
    assert (dougdb_options.nodes, dougdb_options.shards) == ({nodes}, {shards})
    assert dougdb_options.election_timeout_ms == {eto}
    assert dougdb_options.keep_data is {keep}
"""


def test_ini_keys(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        "[pytest]\ndougdb_nodes = 5\ndougdb_shards = 2\n"
        "dougdb_election_timeout_ms = 200,400\ndougdb_keep_data = true\n"
    )
    pytester.makepyfile(OPTIONS_TEST.format(nodes=5, shards=2, eto=(200, 400), keep=True))
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_flags_win_over_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ndougdb_nodes = 5\ndougdb_shards = 2\n")
    pytester.makepyfile(OPTIONS_TEST.format(nodes=1, shards=2, eto=(300, 600), keep=True))
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--dougdb-nodes=1", "--dougdb-election-timeout-ms=300",
        "--dougdb-keep-data",
    )
    result.assert_outcomes(passed=1)


def test_defaults(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(OPTIONS_TEST.format(nodes=3, shards=1, eto=None, keep=False))
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_bad_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(OPTIONS_TEST.format(nodes=3, shards=1, eto=None, keep=False))
    result = pytester.runpytest("-p", "no:cacheprovider", "--dougdb-nodes=three")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--dougdb-nodes*not an integer*"])
    result = pytester.runpytest("-p", "no:cacheprovider", "--dougdb-election-timeout-ms=9,3")
    assert result.ret == pytest.ExitCode.USAGE_ERROR


FAILING_TEST = """
def test_fails(dougdb_cluster_factory):
    cluster = dougdb_cluster_factory(nodes=1, shards=1)
    cluster.client().put(b"k", b"v")
    print("DATA", cluster.nodes[0].data_dir)
    assert False, "deliberate"

def test_passes(dougdb_cluster_factory):
    cluster = dougdb_cluster_factory(nodes=1, shards=1)
    print("PASSDATA", cluster.nodes[0].data_dir)
"""


def test_failure_report_has_node_logs_and_kept_data(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(FAILING_TEST)
    base = pytester.path / "kept"
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "-s", "--dougdb-keep-data", f"--dougdb-data-dir={base}",
        "--dougdb-log-lines=20",
    )
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert re.search(r"dougdb node 1 log \(last 20 lines of .+\)", out), out
    assert "dougdb: data dirs kept (--dougdb-keep-data)" in out
    kept = [ln.split("::test_fails: ", 1)[1] for ln in out.splitlines() if "::test_fails: " in ln]
    assert kept and all(Path(p).is_dir() for p in kept), kept
    assert all(Path(p).parent == base for p in kept)
    leftovers = [p for p in base.iterdir() if str(p) not in kept]
    assert leftovers == [], "the passing test's data dir must be removed"


def test_failure_without_keep_data_removes_dirs(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(FAILING_TEST)
    base = pytester.path / "gone"
    result = pytester.runpytest("-p", "no:cacheprovider", f"--dougdb-data-dir={base}")
    result.assert_outcomes(passed=1, failed=1)
    assert "dougdb node 1 log" in result.stdout.str()
    assert list(base.iterdir()) == []
