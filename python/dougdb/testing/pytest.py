"""pytest helpers: run a workload under a nemesis and fail with everything needed to
understand and replay a violation (the witness, the seed, the tail of every node log,
and the full report with its history in a JSON file).

In your own tests, with your own cluster settings::

    from dougdb.testing.nemesis import Nemesis
    from dougdb.testing.pytest import assert_linearizable_run, run_checked
    from dougdb.testing.runner import run
    from dougdb.testing.workload import RegisterWorkload

    def test_my_settings_survive_leader_kills(dougdb_cluster_factory):
        cluster = dougdb_cluster_factory(nodes=5, shards=2, snapshot_entries=64)
        run_checked(cluster, RegisterWorkload(keys=8), Nemesis(cluster, faults=("kill_leader",)),
                    seconds=15)            # seed: $DOUGDB_TEST_SEED or a fresh one, printed

    # or, to look at the report yourself first:
    def test_partitions(dougdb_cluster):
        report = run(dougdb_cluster, RegisterWorkload(), Nemesis(dougdb_cluster), seconds=10,
                     seed=1234)
        assert_linearizable_run(report, dougdb_cluster)

The ``dougdb_checked_run`` fixture is :func:`run_checked` with the seed already chosen;
import it into your ``conftest.py`` (``from dougdb.testing.pytest import
dougdb_checked_run``) to use it as a fixture.
"""

from __future__ import annotations

import os
import random
import tempfile
from typing import Any, Callable, Optional

import pytest

from .nemesis import Nemesis
from .runner import RunReport, run
from .workload import Workload

__all__ = [
    "RUNS",
    "assert_linearizable_run",
    "dougdb_checked_run",
    "run_checked",
    "seed_from_env",
]

#: Environment variable a seed is replayed from (shared with the project's own suite).
SEED_ENV = "DOUGDB_TEST_SEED"

#: (test id, ``RunReport.one_line()``) of every run judged in this process, in order; the
#: pytest plugin prints them at the end of the session.
RUNS: list[tuple[str, str]] = []


def seed_from_env() -> int:
    """``$DOUGDB_TEST_SEED`` or a fresh random seed; printed with how to replay it."""
    env = os.environ.get(SEED_ENV)
    seed = int(env) if env else random.SystemRandom().randrange(2**32)
    print(f"seed: {seed} (replay: {SEED_ENV}={seed})")
    return seed


def _log_tails(report: RunReport, cluster: Any, lines: int) -> str:
    paths = dict(report.log_paths)
    if cluster is not None:
        for info in cluster.nodes:
            paths.setdefault(info.id, cluster.log_path(info.id))
    out = []
    for n, path in sorted(paths.items()):
        try:
            with open(path, "rb") as f:
                tail = f.read().decode("utf-8", "replace").splitlines()[-lines:]
        except OSError as err:
            tail = [f"(cannot read {path}: {err})"]
        out.append(f"---- node {n}: last {len(tail)} lines of {path}")
        out += tail
    return "\n".join(out)


def assert_linearizable_run(
    report: RunReport, cluster: Any = None, *, log_lines: int = 40
) -> None:
    """Prints ``report.summary()``; if the run found any violation (``unknown`` counts:
    size the workload so the checker finishes), fails the test with the violations, the
    checker's witness, the seed, the tail of every node log, and the path of a JSON file
    holding the whole report and history."""
    print(report.summary())
    test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0]
    RUNS.append((test or "(outside a test)", report.one_line()))
    if report.ok:
        return
    fd, path = tempfile.mkstemp(prefix=f"dougdb-run-{report.seed}-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        f.write(report.to_json(include_history=True))
    parts = [
        (
            f"dougdb run with seed {report.seed} found violations "
            f"(replay: {SEED_ENV}={report.seed}); full report and history: {path}"
        ),
        *[f"  - {v}" for v in report.violations()[:50]],
        "",
        "checker: " + report.verdict.explain(),
        "",
        report.summary(),
    ]
    if log_lines > 0:
        parts += ["", _log_tails(report, cluster, log_lines)]
    pytest.fail("\n".join(parts), pytrace=False)


def run_checked(
    cluster: Any,
    workload: Workload,
    nemesis: Optional[Nemesis] = None,
    *,
    seconds: float,
    seed: Optional[int] = None,
    log_lines: int = 40,
    **run_kw: Any,
) -> RunReport:
    """:func:`~dougdb.testing.runner.run` then :func:`assert_linearizable_run`; the seed
    defaults to :func:`seed_from_env`. Returns the report (for scenario-specific
    assertions)."""
    if seed is None:
        seed = seed_from_env()
    report = run(cluster, workload, nemesis, seconds=seconds, seed=seed, **run_kw)
    assert_linearizable_run(report, cluster, log_lines=log_lines)
    return report


@pytest.fixture
def dougdb_checked_run() -> Callable[..., RunReport]:
    """:func:`run_checked` with the test's seed (``$DOUGDB_TEST_SEED`` or fresh, printed
    once per test)."""
    seed = seed_from_env()

    def checked(cluster: Any, workload: Workload, nemesis: Optional[Nemesis] = None, *,
                seconds: float, **kw: Any) -> RunReport:
        return run_checked(cluster, workload, nemesis, seconds=seconds,
                           seed=kw.pop("seed", seed), **kw)

    return checked
