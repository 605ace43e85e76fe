"""The history recorder: classification of outcomes, timing, thread safety."""

from __future__ import annotations

import itertools
import threading

import dougdb
import pytest
from dougdb.testing.history import Recorder, classify

WRITES = ["put", "add", "cas", "delete"]
READS = ["get", "scan"]
UNCERTAIN = [
    dougdb.TimeoutError("deadline"),
    dougdb.UnavailableError("no quorum"),
    dougdb.ConnectionError("refused"),
    dougdb.CorruptionError("crc"),
    dougdb.DougDBError("protocol"),
    RuntimeError("unexpected"),
]


@pytest.mark.parametrize("kind", WRITES)
@pytest.mark.parametrize("error", UNCERTAIN, ids=lambda e: type(e).__name__)
def test_write_errors_that_may_have_applied_are_info(kind: str, error: Exception) -> None:
    assert classify(kind, error) == "info"


@pytest.mark.parametrize("kind", WRITES)
def test_invalid_argument_on_a_write_is_fail(kind: str) -> None:
    assert classify(kind, dougdb.InvalidArgumentError("empty key")) == "fail"


@pytest.mark.parametrize("kind", WRITES)
def test_not_leader_on_a_write_is_fail(kind: str) -> None:
    # The client raises NotLeaderError only when no attempt of the call may have applied.
    error = dougdb.NotLeaderError("not leader", leader_hint=2, shard=0)
    assert classify(kind, error) == "fail"


@pytest.mark.parametrize("kind", READS)
@pytest.mark.parametrize(
    "error", [*UNCERTAIN, dougdb.InvalidArgumentError("x")], ids=lambda e: type(e).__name__
)
def test_any_read_error_is_fail(kind: str, error: Exception) -> None:
    assert classify(kind, error) == "fail"


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError):
        classify("frobnicate", RuntimeError())
    with pytest.raises(ValueError):
        Recorder().invoke(0, "frobnicate", b"k")


def fake_clock() -> tuple[Recorder, itertools.count]:
    ticks = itertools.count(100, 10)
    return Recorder(clock=lambda: next(ticks)), ticks


def test_call_records_ok_fail_and_info_with_times() -> None:
    rec, _ = fake_clock()
    ok = rec.call(0, "get", b"k", lambda: b"v")
    assert (ok.status, ok.result, ok.invoke, ok.complete, ok.error) == ("ok", b"v", 100, 110, None)

    def timeout() -> None:
        raise dougdb.TimeoutError("no answer within the deadline")

    info = rec.call(1, "put", b"k", timeout, value=b"v2")
    assert info.status == "info" and info.complete is None and info.invoke == 120
    assert info.error is not None and info.error.startswith("TimeoutError: no answer")
    assert info.value == b"v2"

    failed = rec.call(0, "get", b"k", timeout)
    assert failed.status == "fail" and failed.complete == 140 and failed.result is None

    def invalid() -> None:
        raise dougdb.InvalidArgumentError("the key is empty")

    refused = rec.call(2, "cas", b"k", invalid, expected=b"a", value=b"b")
    assert refused.status == "fail" and refused.expected == b"a"
    assert [op.status for op in rec.history()] == ["ok", "info", "fail", "fail"]


def test_a_process_has_one_call_outstanding() -> None:
    rec = Recorder()
    op = rec.invoke(3, "put", b"k", value=b"v")
    with pytest.raises(RuntimeError):
        rec.invoke(3, "get", b"k")
    rec.ok(op)
    with pytest.raises(RuntimeError):
        rec.ok(op)  # already completed
    rec.invoke(3, "get", b"k")  # free again


def test_history_is_a_snapshot_showing_outstanding_calls_as_info() -> None:
    rec = Recorder()
    op = rec.invoke(0, "put", b"k", value=b"v")
    snap = rec.history()
    assert snap[0].status == "info" and snap[0].complete is None
    assert snap[0].error == "still outstanding"
    rec.ok(op)
    assert snap[0].status == "info", "a snapshot does not change afterwards"
    assert rec.history()[0].status == "ok"


def test_ctrl_c_records_info_and_propagates() -> None:
    rec = Recorder()

    def interrupted() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rec.call(0, "put", b"k", interrupted, value=b"v")
    assert rec.history()[0].status == "info"


def test_concurrent_recording_keeps_every_op_in_invocation_order() -> None:
    rec = Recorder()
    per_thread = 300

    def worker(p: int) -> None:
        for i in range(per_thread):
            rec.call(p, "put", b"k%d" % (i % 3), lambda: None, value=b"%d/%d" % (p, i))

    threads = [threading.Thread(target=worker, args=(p,)) for p in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    history = rec.history()
    assert len(history) == len(rec) == 8 * per_thread
    assert [op.invoke for op in history] == sorted(op.invoke for op in history)
    assert all(op.status == "ok" and op.complete >= op.invoke for op in history)
    for p in range(8):  # each process's calls never overlap
        mine = [op for op in history if op.process == p]
        assert all(a.complete <= b.invoke for a, b in zip(mine, mine[1:]))
