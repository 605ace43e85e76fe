"""Running a workload under a nemesis and judging the result: :func:`run` -> :class:`RunReport`.

One run, all from one seed:

1. the workload's workers and the nemesis's schedule run together for ``seconds`` (the
   workload stops early when the nemesis's schedule is done);
2. the nemesis heals everything (partitions, paused and dead nodes);
3. a final write to every shard must succeed (the time from the heal to it is the
   *recovery time*), then a final strong read of every key the workload touched; both
   are appended to the history;
4. every node's replica must converge: eventual reads pinned to each node return the
   final values (the time it took is the *convergence time*);
5. the history is judged: outcomes counted, acknowledged writes lost, overwritten writes
   resurrected, eventual reads of values never written, the workload's own invariants,
   and the linearizability checker's verdict.

Example, against your own cluster settings::

    import dougdb
    from dougdb.testing.nemesis import Nemesis
    from dougdb.testing.runner import run
    from dougdb.testing.workload import RegisterWorkload

    with dougdb.LocalCluster(nodes=3, shards=2, election_timeout_ms=(100, 200)) as c:
        report = run(c, RegisterWorkload(keys=8, processes=4),
                     Nemesis(c, faults=("kill_leader", "isolate")), seconds=15, seed=7)
        print(report.summary())
        assert report.ok, report.violations()
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any, Optional

from ..errors import DougDBError, NotLeaderError
from ._ops import Op, Verdict
from .history import Recorder
from .nemesis import FaultEvent, Nemesis
from .workload import Workload, read_until_ok

__all__ = ["RunReport", "op_to_dict", "run"]


@dataclass
class RunReport:
    """What one :func:`run` did and found. ``ok`` is True only when nothing was lost or
    resurrected, the verdict is ``linearizable`` (``unknown`` is not ok), and every other
    check passed; :meth:`violations` lists what was not."""

    seed: int
    seconds: float
    workload: str
    faults: tuple[str, ...]
    duration_s: float = 0.0
    #: ``count_outcomes(history)``: calls by outcome (and kind).
    outcomes: dict[str, Any] = field(default_factory=dict)
    lost: list[Op] = field(default_factory=list)
    resurrected: list[Op] = field(default_factory=list)
    verdict: Verdict = field(default_factory=lambda: Verdict("unknown"))
    eventual_violations: list[Op] = field(default_factory=list)
    workload_violations: list[str] = field(default_factory=list)
    timeline: list[FaultEvent] = field(default_factory=list)
    nemesis_errors: list[str] = field(default_factory=list)
    #: The final write reached every shard; ms from the end of the heal to it (None: it
    #: never succeeded).
    final_write_ok: bool = False
    recovery_ms: Optional[float] = None
    #: Keys the final strong read could not read.
    unread_keys: list[bytes] = field(default_factory=list)
    #: ms until eventual reads on every node returned the final values (None: never).
    convergence_ms: Optional[float] = None
    check_s: float = 0.0
    final: dict[bytes, Optional[bytes]] = field(default_factory=dict)
    history: list[Op] = field(default_factory=list)
    log_paths: dict[int, str] = field(default_factory=dict)

    @property
    def new_leader_ms(self) -> list[Optional[float]]:
        """Time to a new leader after each leader-affecting fault, per shard (None: no
        new leader was seen while the fault held)."""
        return [v for e in self.timeline for _, v in sorted(e.new_leader_ms.items())]

    def violations(self) -> list[str]:
        """Everything that went wrong, one line each (empty when ``ok``)."""
        out = [f"lost acknowledged write: {op.describe()}" for op in self.lost]
        out += [f"resurrected write: {op.describe()}" for op in self.resurrected]
        if self.verdict.result != "linearizable":
            out.append(self.verdict.explain())
        out += [
            f"eventual read of a value never written: {op.describe()}"
            for op in self.eventual_violations
        ]
        out += self.workload_violations
        out += [f"nemesis: {e}" for e in self.nemesis_errors]
        if not self.final_write_ok:
            out.append("the final write after the heal never succeeded")
        out += [f"final strong read of {k!r} never succeeded" for k in self.unread_keys]
        if self.convergence_ms is None:
            out.append("eventual reads did not converge to the final values after the heal")
        return out

    @property
    def ok(self) -> bool:
        return not self.violations()

    def totals(self) -> dict[str, int]:
        """Calls by outcome: ``ok``, ``fail``, ``info``."""
        out = {"ok": 0, "fail": 0, "info": 0}
        for op in self.history:
            out[op.status] = out.get(op.status, 0) + 1
        return out

    def one_line(self) -> str:
        """The report's figures on one line: outcomes, lost / resurrected, verdict, time
        to a new leader (median and max) and recovery after the heal."""
        t = self.totals()
        measured = [v for v in self.new_leader_ms if v is not None]
        leader = (
            f"new leader {statistics.median(measured):.0f}/{max(measured):.0f} ms"
            if measured else "new leader -"
        )
        rec = "-" if self.recovery_ms is None else f"{self.recovery_ms:.0f} ms"
        return (
            f"seed {self.seed}: {t['ok']} ok / {t['fail']} fail / {t['info']} info; "
            f"lost {len(self.lost)}, resurrected {len(self.resurrected)}; "
            f"{self.verdict.result}; {len(self.timeline)} faults, {leader} "
            f"(median/max), recovery {rec}"
        )

    def summary(self) -> str:
        """A short text report."""
        t = self.totals()
        faults = ",".join(self.faults) or "none"
        lines = [
            (
                f"dougdb.testing run: seed {self.seed}, workload {self.workload}, "
                f"{self.duration_s:.1f} s (asked {self.seconds:g} s), faults {faults}"
            ),
            (
                f"ops: {t['ok']} ok, {t['fail']} fail, {t['info']} info "
                f"({len(self.history)} in the history)"
            ),
        ]
        kinds: dict[str, int] = {}
        for e in self.timeline:
            kinds[e.step.fault] = kinds.get(e.step.fault, 0) + 1
        lines.append(
            f"faults injected: {len(self.timeline)}"
            + (" (" + ", ".join(f"{k} x{v}" for k, v in sorted(kinds.items())) + ")"
               if kinds else "")
        )
        lines += [f"  {e.describe()}" for e in self.timeline[:60]]
        if len(self.timeline) > 60:
            lines.append(f"  ... {len(self.timeline) - 60} more")
        measured = [v for v in self.new_leader_ms if v is not None]
        if self.new_leader_ms:
            missing = len(self.new_leader_ms) - len(measured)
            if measured:
                lines.append(
                    f"time to a new leader: median {statistics.median(measured):.0f} ms, "
                    f"max {max(measured):.0f} ms ({len(measured)} measured, {missing} not "
                    f"within the fault's hold)"
                )
            else:
                lines.append(f"time to a new leader: none within the hold ({missing})")
        rec = "never" if self.recovery_ms is None else f"{self.recovery_ms:.0f} ms"
        conv = "never" if self.convergence_ms is None else f"{self.convergence_ms:.0f} ms"
        lines.append(f"recovery after heal (first write ok on every shard): {rec}; "
                     f"eventual reads converged: {conv}")
        lines.append(f"lost acknowledged writes: {len(self.lost)}; resurrected writes: "
                     f"{len(self.resurrected)}; eventual-read violations: "
                     f"{len(self.eventual_violations)}; workload violations: "
                     f"{len(self.workload_violations)}")
        lines.append(f"linearizability: {self.verdict.explain().splitlines()[0]} "
                     f"(checked in {self.check_s:.1f} s)")
        bad = self.violations()
        if bad:
            lines.append(f"RESULT: {len(bad)} VIOLATION(S); replay with seed {self.seed}:")
            lines += [f"  - {v}" for v in bad[:20]]
        else:
            lines.append("RESULT: OK")
        return "\n".join(lines)

    def to_dict(self, include_history: bool = False) -> dict[str, Any]:
        """The report as JSON-ready data (``include_history``: every op too)."""
        d: dict[str, Any] = {
            "seed": self.seed,
            "seconds": self.seconds,
            "workload": self.workload,
            "faults": list(self.faults),
            "duration_s": self.duration_s,
            "ok": self.ok,
            "totals": self.totals(),
            "outcomes": _jsonable(self.outcomes),
            "lost": [op_to_dict(op) for op in self.lost],
            "resurrected": [op_to_dict(op) for op in self.resurrected],
            "verdict": {
                "result": self.verdict.result,
                "key": _text(self.verdict.key),
                "steps": self.verdict.steps,
                "witness": [op_to_dict(op) for op in self.verdict.witness],
                "explain": self.verdict.explain(),
            },
            "eventual_violations": [op_to_dict(op) for op in self.eventual_violations],
            "workload_violations": self.workload_violations,
            "timeline": [_jsonable(e.to_dict()) for e in self.timeline],
            "new_leader_ms": self.new_leader_ms,
            "nemesis_errors": self.nemesis_errors,
            "final_write_ok": self.final_write_ok,
            "recovery_ms": self.recovery_ms,
            "unread_keys": [_text(k) for k in self.unread_keys],
            "convergence_ms": self.convergence_ms,
            "check_s": self.check_s,
            "violations": self.violations(),
            "log_paths": {str(k): v for k, v in self.log_paths.items()},
        }
        if include_history:
            d["history"] = [op_to_dict(op) for op in self.history]
        return d

    def to_json(self, include_history: bool = False, indent: Optional[int] = 2) -> str:
        return json.dumps(self.to_dict(include_history), indent=indent)


def _text(b: Any) -> Any:
    if isinstance(b, (bytes, bytearray)):
        return bytes(b).decode("utf-8", "backslashreplace")
    return b


def _jsonable(x: Any) -> Any:
    if isinstance(x, (bytes, bytearray)):
        return _text(x)
    if isinstance(x, dict):
        return {str(_text(k)): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    return x


def op_to_dict(op: Op) -> dict[str, Any]:
    """An op as JSON-ready data (bytes as UTF-8 text with backslash escapes)."""
    return _jsonable(asdict(op))


# ---- the run -------------------------------------------------------------------------


def run(
    cluster: Any,
    workload: Workload,
    nemesis: Optional[Nemesis] = None,
    *,
    seconds: float,
    seed: int,
    step_budget: int = 1_000_000,
    final_timeout: float = 60.0,
    converge_timeout: float = 30.0,
) -> RunReport:
    """Runs ``workload`` against ``cluster`` for ``seconds`` while ``nemesis`` (None: no
    faults) injects faults, both seeded by ``seed``; heals; final write and reads;
    judges the history (see the module docstring). Never raises for what it finds: read
    :attr:`RunReport.ok` / :meth:`RunReport.violations`. Raises if a worker crashed (a
    bug in the workload) or the nemesis could not heal the cluster."""
    report = RunReport(
        seed=seed, seconds=seconds, workload=workload.name,
        faults=tuple(nemesis.faults) if nemesis is not None else (),
        log_paths={n.id: cluster.log_path(n.id) for n in cluster.nodes},
    )
    recorder = Recorder()
    stop = threading.Event()
    t0 = time.monotonic()
    threads = workload.start(cluster, recorder, seed=seed, deadline=t0 + seconds, stop=stop)
    nemesis_failure: list[BaseException] = []

    def nemesis_main() -> None:
        assert nemesis is not None
        try:
            nemesis.run(seconds, seed, stop)
        except BaseException as err:  # noqa: BLE001 - re-raised after the workload stopped
            nemesis_failure.append(err)
        finally:
            stop.set()  # the schedule is done: the workload stops too

    nt = None
    if nemesis is not None:
        nt = threading.Thread(target=nemesis_main, name="nemesis", daemon=True)
        nt.start()
    for t in threads:
        t.join()
    stop.set()
    if nt is not None:
        nt.join()
    workload.raise_errors()
    if nemesis is not None:
        report.timeline = list(nemesis.timeline)
        report.nemesis_errors = list(nemesis.errors)
        if nemesis_failure:
            raise RuntimeError(
                f"the nemesis could not heal the cluster: {nemesis_failure[0]!r}"
            ) from nemesis_failure[0]
    healed_ns = time.monotonic_ns()
    _final_phase(cluster, workload, recorder, report, healed_ns, final_timeout,
                 converge_timeout)
    report.duration_s = time.monotonic() - t0
    report.history = recorder.history()
    _judge(report, workload, step_budget)
    return report


def _final_phase(
    cluster: Any, workload: Workload, recorder: Recorder, report: RunReport,
    healed_ns: int, final_timeout: float, converge_timeout: float,
) -> None:
    process = workload.process_count  # the next free process id
    deadline = time.monotonic() + final_timeout
    client = cluster.client(timeout=5.0)
    try:
        done, written = _final_writes(cluster, client, recorder, process, report.seed,
                                      deadline)
        report.final_write_ok = done is not None
        if done is not None:
            report.recovery_ms = (done - healed_ns) / 1e6
        read_deadline = max(deadline, time.monotonic() + 10.0)
        keys = workload.final_keys(recorder.history()) + written
        final = workload.final_reads(client, recorder, process, recorder.history(),
                                     read_deadline)
        for key in written:
            op = read_until_ok(client, recorder, process, key, read_deadline)
            if op is not None:
                final[key] = op.result
        report.final = final
        report.unread_keys = [k for k in keys if k not in final]
    finally:
        client.close()
    report.convergence_ms = _converge(cluster, report.final, converge_timeout)


def _final_writes(
    cluster: Any, client: Any, recorder: Recorder, process: int, seed: int,
    deadline: float,
) -> tuple[Optional[int], list[bytes]]:
    """One write per shard, each retried until ok. Returns when the last one succeeded
    (monotonic ns; None if one never did) and the keys written."""
    keys: dict[int, bytes] = {}
    i = 0
    while len(keys) < cluster.shard_count and i < 10_000:
        key = b"final-%d/%d" % (seed, i)
        keys.setdefault(client.shard_for(key), key)
        i += 1
    last = 0
    written = sorted(keys.values())
    for key in written:
        value = key + b"/value-%x" % time.monotonic_ns()
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None, written
            call = partial(client.put, key, value, timeout=max(0.2, min(left, 5.0)))
            op = recorder.call(process, "put", key, call, value=value)
            if op.status == "ok":
                last = max(last, op.complete or 0)
                break
    return last, written


def _converge(
    cluster: Any, final: Mapping[bytes, Optional[bytes]], timeout: float
) -> Optional[float]:
    """ms until every node's own replicas return the final values (eventual reads
    pinned to it), or None."""
    keys = sorted(final)
    want = [final[k] for k in keys]
    t0 = time.monotonic_ns()
    deadline = time.monotonic() + timeout
    for info in cluster.nodes:
        pinned = None
        while True:
            try:
                if pinned is None:
                    pinned = cluster.client(node=info.id, timeout=2.0)
                got: list[Optional[bytes]] = []
                for i in range(0, len(keys), 500):
                    got += pinned.get_many(keys[i:i + 500], consistency="eventual")
                if got == want:
                    break
            except NotLeaderError:
                break  # the node hosts no replica of some shard: nothing to converge
            except DougDBError:
                pass
            if time.monotonic() > deadline:
                if pinned is not None:
                    pinned.close()
                return None
            time.sleep(0.05)  # polling against a deadline
        if pinned is not None:
            pinned.close()
    return (time.monotonic_ns() - t0) / 1e6


def _judge(report: RunReport, workload: Workload, step_budget: int) -> None:
    # Imported here: the checker is a separate piece (Rust), the recorder works without it.
    from .analysis import (
        count_outcomes,
        eventual_read_violations,
        lost_writes,
        resurrected_writes,
    )
    from .checker import check

    history = report.history
    report.outcomes = dict(count_outcomes(history))
    report.lost = list(lost_writes(history, report.final))
    report.resurrected = list(resurrected_writes(history, report.final))
    report.eventual_violations = list(eventual_read_violations(history))
    report.workload_violations = list(workload.check(history, report.final))
    t = time.monotonic()
    report.verdict = check(history, step_budget=step_budget)
    report.check_s = time.monotonic() - t
