"""Run reports and the pytest helper: what counts as a violation, the text and JSON
forms, and the failure message (witness, seed, node logs, saved history)."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path
from typing import Any

import pytest
from dougdb.testing import Op, Verdict
from dougdb.testing.nemesis import FaultEvent, Step
from dougdb.testing.pytest import RUNS, assert_linearizable_run
from dougdb.testing.runner import RunReport

pytest_plugins = ["pytester"]


def clean_report(**kw: Any) -> RunReport:
    put = Op(0, "put", b"k", value=b"v\xff", status="ok", invoke=1, complete=2)
    get = Op(1, "get", b"k", result=b"v\xff", status="ok", invoke=3, complete=4)
    timeout = Op(0, "put", b"k", value=b"w", status="info", invoke=5, error="TimeoutError")
    event = FaultEvent(Step(0.5, "kill_leader", 1.0, nodes=(2,), shard=0), nodes=(1,),
                       started_ns=10, healed_ns=20, recovered_ns=30,
                       leaders_before={0: 1}, new_leader_ms={0: 250.0})
    fields: dict[str, Any] = dict(
        seed=77, seconds=10, workload="register", faults=("kill_leader",), duration_s=11.0,
        verdict=Verdict("linearizable", steps=12), timeline=[event], final_write_ok=True,
        recovery_ms=15.0, convergence_ms=3.0, final={b"k": b"v\xff"},
        history=[put, get, timeout],
    )
    fields.update(kw)
    return RunReport(**fields)


def test_a_clean_report_is_ok_and_says_so() -> None:
    report = clean_report()
    assert report.ok and report.violations() == []
    assert report.totals() == {"ok": 2, "fail": 0, "info": 1}
    assert report.new_leader_ms == [250.0]
    text = report.summary()
    assert "seed 77" in text and "RESULT: OK" in text
    assert "2 ok, 0 fail, 1 info" in text
    assert "kill_leader 1 (shard 0)" in text and "250 ms" in text
    data = json.loads(report.to_json(include_history=True))
    assert data["ok"] is True and data["seed"] == 77
    assert data["history"][0]["value"] == "v\\xff"  # bytes as escaped text
    assert data["timeline"][0]["new_leader_ms"] == {"0": 250.0}
    assert "history" not in json.loads(report.to_json())


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"lost": [Op(0, "put", b"k", value=b"x", status="ok")]}, "lost acknowledged write"),
        ({"resurrected": [Op(0, "put", b"k", value=b"x", status="ok")]}, "resurrected"),
        ({"verdict": Verdict("unknown", key=b"k", steps=9)}, "unknown: step budget"),
        ({"verdict": Verdict("violation", key=b"k")}, "not linearizable"),
        ({"eventual_violations": [Op(1, "get", b"k", result=b"zz", status="ok")]},
         "never written"),
        ({"workload_violations": ["scan missed an insert"]}, "scan missed"),
        ({"nemesis_errors": ["restart 2 failed"]}, "nemesis: restart 2 failed"),
        ({"final_write_ok": False}, "final write"),
        ({"unread_keys": [b"k"]}, "final strong read"),
        ({"convergence_ms": None}, "did not converge"),
    ],
)
def test_each_kind_of_problem_is_a_violation(change: dict[str, Any], expected: str) -> None:
    report = clean_report(**change)
    assert not report.ok
    assert any(expected in v for v in report.violations()), report.violations()
    assert "VIOLATION" in report.summary() and "replay with seed 77" in report.summary()


def test_one_line_has_every_figure_a_scenario_reports() -> None:
    line = clean_report(lost=[Op(0, "put", b"k", value=b"x", status="ok")]).one_line()
    assert line == (
        "seed 77: 2 ok / 0 fail / 1 info; lost 1, resurrected 0; linearizable; "
        "1 faults, new leader 250/250 ms (median/max), recovery 15 ms"
    )
    assert "new leader -" in clean_report(timeline=[]).one_line()
    assert "recovery -" in clean_report(recovery_ms=None).one_line()


def test_helper_passes_a_clean_run(capsys: pytest.CaptureFixture[str]) -> None:
    before = len(RUNS)
    assert_linearizable_run(clean_report())
    assert "RESULT: OK" in capsys.readouterr().out
    # Recorded for the session's terminal summary, under this test's id.
    test, line = RUNS[before]
    assert test.endswith("::test_helper_passes_a_clean_run") and line.startswith("seed 77:")
    del RUNS[before:]


def test_session_summary_lists_every_judged_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RUN_IN_A_TEST.format(report=inspect.getsource(clean_report))
    )
    # In a subprocess: the runs of that session must not land in this one's summary.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines([
        "*dougdb.testing: runs under faults*",
        "*::test_first: seed 77: 2 ok / 0 fail / 1 info*",
        "*::test_second: seed 78: *",
    ])


RUN_IN_A_TEST = """
from typing import Any
from dougdb.testing import Op, Verdict
from dougdb.testing.nemesis import FaultEvent, Step
from dougdb.testing.pytest import RUNS, assert_linearizable_run
from dougdb.testing.runner import RunReport

{report}

def test_first():
    assert_linearizable_run(clean_report())

def test_second():
    assert_linearizable_run(clean_report(seed=78))
"""


def test_helper_fails_with_witness_seed_logs_and_saved_history(tmp_path: Path) -> None:
    log = tmp_path / "node-1.log"
    log.write_text("".join(f"line {i}\n" for i in range(100)))
    stale = Op(2, "get", b"k", result=None, status="ok", invoke=6, complete=7)
    verdict = Verdict("violation", key=b"k", witness=[clean_report().history[0], stale])
    report = clean_report(verdict=verdict, log_paths={1: str(log)})
    before = len(RUNS)
    with pytest.raises(pytest.fail.Exception) as failed:
        assert_linearizable_run(report, log_lines=5)
    assert "violation" in RUNS[before][1]  # failed runs are listed too
    del RUNS[before:]  # (a made-up run: not one for the session's summary)
    msg = str(failed.value)
    assert "seed 77" in msg and "DOUGDB_TEST_SEED=77" in msg
    assert "not linearizable: key b'k'" in msg and "p2 get(b'k') = None" in msg
    assert "line 99" in msg and "line 94" not in msg  # the last 5 lines of the node log
    saved = re.search(r"full report and history: (\S+\.json)", msg)
    assert saved, msg
    data = json.loads(Path(saved.group(1)).read_text())
    assert len(data["history"]) == 3 and data["verdict"]["result"] == "violation"
    Path(saved.group(1)).unlink()


def test_soak_writes_a_json_report_and_a_summary(tmp_path: Path) -> None:
    from dougdb.testing import soak

    bad = clean_report(seed=5, lost=[Op(0, "put", b"k", value=b"x", status="ok")])
    soak._write(str(tmp_path), 42, 3.0, [clean_report(), bad], ["segment seed 9: boom"])
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["seed"] == 42 and data["ok"] is False and data["errors"]
    assert [s["ok"] for s in data["segments"]] == [True, False]
    assert "history" in data["segments"][1] and "history" not in data["segments"][0]
    text = (tmp_path / "summary.txt").read_text()
    assert "RESULT: VIOLATIONS" in text and "make soak MINUTES=3 SEED=42" in text
    assert "ERROR: segment seed 9: boom" in text and "lost acknowledged write" in text


def test_soak_refuses_bad_arguments() -> None:
    from dougdb.testing import soak

    with pytest.raises(SystemExit) as exited:
        soak.main(["--minutes", "0"])
    assert exited.value.code == 2
