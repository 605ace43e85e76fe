"""The nemesis: seeded, scheduled faults against a :class:`~dougdb.LocalCluster`.

A schedule (:meth:`Nemesis.plan`) is a pure function of the seed, the run's length and
the cluster's shape (nodes, shards): the same seed gives the same faults at the same
offsets, with the same random choices. What depends on the cluster at run time (which
node leads a shard) is resolved when the fault fires and written in the timeline.

Faults run one at a time: apply, hold for the step's duration, undo; then the schedule's
gap until the next one. Waiting is on the schedule only (``Event.wait(timeout)``),
never to let the cluster settle, so the faults also land on a cluster still recovering
from the previous one. At the end (or when the run's stop event is set) the nemesis
undoes the fault in force and :meth:`Nemesis.heal_all` heals every partition, resumes
every paused node and restarts every dead one.

Faults (``FAULTS``):

========================  ===================================================================
``kill``                  SIGKILL a node; restarted after the hold
``restart``               graceful stop (SIGTERM) of a node; restarted after the hold
``kill_leader``           SIGKILL the leader of a shard
``pause``                 SIGSTOP a node; SIGCONT after the hold
``pause_leader``          SIGSTOP the leader of a shard (hold it past the election timeout)
``isolate``               partition one node from all others
``isolate_leader``        partition the leader of a shard from all others
``halves``                a random minority / majority split
``bridge``                5+ nodes: two sides that only reach each other through one node
``crash_all``             SIGKILL every node, then restart them all
========================  ===================================================================

Example::

    nemesis = Nemesis(cluster, faults=("kill_leader", "isolate"), interval=(0.5, 1.0))
    nemesis.plan(seconds=10, seed=7)       # the schedule, without running it
    nemesis.run(seconds=10, seed=7)        # blocking; heals at the end
    for event in nemesis.timeline:
        print(event.describe())
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

from ..errors import DougDBError

__all__ = ["ALL_FAULTS", "FAULTS", "FaultEvent", "Nemesis", "Step"]

#: Every fault kind, in a fixed order (the plan's choices index into it).
FAULTS = (
    "kill", "restart", "kill_leader", "pause", "pause_leader",
    "isolate", "isolate_leader", "halves", "bridge", "crash_all",
)  # fmt: skip
ALL_FAULTS = FAULTS
#: Faults that act on a shard's leader, resolved when they fire.
LEADER_FAULTS = frozenset({"kill_leader", "pause_leader", "isolate_leader"})
#: Faults that leave a minority able to answer but not to commit.
PARTITION_FAULTS = frozenset({"isolate", "isolate_leader", "halves", "bridge"})

#: Poll period while measuring the time to a new leader (a measurement, not a wait).
_POLL_S = 0.03
#: How long heal_all() keeps retrying the heal of a node that does not answer.
_HEAL_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Step:
    """One planned fault: fires ``at`` seconds after the start, holds ``hold`` seconds.
    ``nodes`` are the seeded victims (empty for leader faults, resolved at run time);
    ``groups`` the sides of a partition; ``shard`` the shard of a leader fault."""

    at: float
    fault: str
    hold: float
    nodes: tuple[int, ...] = ()
    groups: tuple[tuple[int, ...], ...] = ()
    shard: Optional[int] = None


@dataclass
class FaultEvent:
    """What a step did, when (``time.monotonic_ns()``), and what it measured."""

    step: Step
    #: Nodes acted on (resolved leaders included).
    nodes: tuple[int, ...] = ()
    #: Nodes cut off from a majority while the fault held (for minority checks).
    minority: tuple[int, ...] = ()
    #: The fault is in force from ``started_ns`` until ``healed_ns`` (when undoing began).
    started_ns: Optional[int] = None
    healed_ns: Optional[int] = None
    #: Undoing finished (nodes restarted, partition healed).
    recovered_ns: Optional[int] = None
    #: Shard -> leader before the fault.
    leaders_before: dict[int, Optional[int]] = field(default_factory=dict)
    #: Shard -> ms from the fault until another node led it (shards whose leader was a
    #: victim; None: no new leader seen while the fault held).
    new_leader_ms: dict[int, Optional[float]] = field(default_factory=dict)
    error: Optional[str] = None

    def describe(self) -> str:
        s = self.step
        what = s.fault
        if self.nodes:
            what += " " + ",".join(str(n) for n in self.nodes)
        if s.groups:
            what += " " + "|".join(",".join(map(str, g)) for g in s.groups)
        if s.shard is not None:
            what += f" (shard {s.shard})"
        extra = ""
        if self.new_leader_ms:
            parts = [
                f"shard {k}: " + ("none seen" if v is None else f"{v:.0f} ms")
                for k, v in sorted(self.new_leader_ms.items())
            ]
            extra = "; new leader " + ", ".join(parts)
        if self.error:
            extra += f"; ERROR {self.error}"
        return f"t+{s.at:.2f}s {what}, hold {s.hold:.2f}s{extra}"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["new_leader_ms"] = {str(k): v for k, v in self.new_leader_ms.items()}
        d["leaders_before"] = {str(k): v for k, v in self.leaders_before.items()}
        return d


class Nemesis:
    """Seeded faults against ``cluster``.

    ``faults``: the kinds to draw from (``bridge`` is dropped below 5 nodes).
    ``interval``: (min, max) seconds between the end of one fault and the next.
    ``hold``: (min, max) seconds a fault stays in force. ``max_faults``: at most this
    many faults per run. ``must_include``: kinds the plan contains at least once (placed
    at seeded positions). ``shards``: shards whose leaders leader faults target
    (default: every shard).
    """

    def __init__(
        self,
        cluster: Any,
        faults: Sequence[str] = FAULTS,
        *,
        interval: tuple[float, float] = (0.3, 1.0),
        hold: tuple[float, float] = (0.5, 1.5),
        max_faults: int = 1000,
        must_include: Sequence[str] = (),
        shards: Optional[Sequence[int]] = None,
    ) -> None:
        unknown = [f for f in [*faults, *must_include] if f not in FAULTS]
        if unknown:
            raise ValueError(f"unknown faults {unknown}; known: {', '.join(FAULTS)}")
        if not faults:
            raise ValueError("faults must name at least one fault")
        if not (0 <= interval[0] <= interval[1]) or not (0 < hold[0] <= hold[1]):
            raise ValueError("interval and hold must be (min, max) with 0 <= min <= max")
        self.cluster = cluster
        self.faults = tuple(faults)
        self.interval = interval
        self.hold = hold
        self.max_faults = max_faults
        self.must_include = tuple(must_include)
        self.shards = list(shards) if shards is not None else None
        self.timeline: list[FaultEvent] = []
        self.errors: list[str] = []
        self._cond = threading.Condition()
        self._active: Optional[FaultEvent] = None
        self._t0_ns = 0

    # ---- the schedule ----------------------------------------------------------------

    def _shape(self) -> tuple[list[int], list[int]]:
        nodes = [n.id for n in self.cluster.nodes]
        shards = self.shards if self.shards is not None else list(
            range(self.cluster.shard_count)
        )
        return nodes, shards

    def plan(self, seconds: float, seed: int) -> list[Step]:
        """The schedule for a run of ``seconds`` with ``seed`` (pure: no cluster call
        other than its shape)."""
        nodes, shards = self._shape()
        return plan(
            seed, seconds, nodes, shards, self.faults, self.interval, self.hold,
            self.max_faults, self.must_include,
        )

    # ---- running it ------------------------------------------------------------------

    def run(
        self, seconds: float, seed: int, stop: Optional[threading.Event] = None
    ) -> list[FaultEvent]:
        """Runs the schedule (blocking) until it ends or ``stop`` is set, then heals
        everything; returns the timeline (also in ``self.timeline``)."""
        stop = stop or threading.Event()
        steps = self.plan(seconds, seed)
        self.timeline = []
        self.errors = []
        t0 = time.monotonic()
        self._t0_ns = time.monotonic_ns()
        try:
            for step in steps:
                if stop.wait(max(0.0, t0 + step.at - time.monotonic())):
                    break
                event = FaultEvent(step)
                self.timeline.append(event)
                try:
                    self._apply(event)
                    self._hold(event, stop)
                except DougDBError as err:
                    event.error = f"{type(err).__name__}: {err}"
                    self.errors.append(f"{event.describe()}")
                finally:
                    self._undo(event)
        finally:
            self.heal_all()
        return self.timeline

    def active(self) -> Optional[FaultEvent]:
        """The fault in force now, if any."""
        with self._cond:
            return self._active

    def wait_minority(
        self, timeout: float
    ) -> Optional[tuple[FaultEvent, tuple[int, ...]]]:
        """Waits up to ``timeout`` s for a fault that cuts nodes off in a minority;
        returns it and those nodes, or None."""
        with self._cond:
            self._cond.wait_for(
                lambda: self._active is not None and bool(self._active.minority), timeout
            )
            ev = self._active
            return (ev, ev.minority) if ev is not None and ev.minority else None

    def _set_active(self, event: Optional[FaultEvent]) -> None:
        with self._cond:
            self._active = event
            self._cond.notify_all()

    def _leaders(self, shards: Sequence[int]) -> dict[int, Optional[int]]:
        try:
            status = self.cluster.status()
        except DougDBError:  # unknown leaders: leader faults use their stand-in
            return {s: None for s in shards}
        return {s: status.shard(s).leader for s in shards}

    def _apply(self, event: FaultEvent) -> None:
        c, step = self.cluster, event.step
        _, shards = self._shape()
        event.leaders_before = self._leaders(shards)
        nodes = step.nodes
        if step.fault in LEADER_FAULTS:
            leader = event.leaders_before.get(step.shard or 0)
            if leader is None:  # nobody leads right now: act on a seeded stand-in
                leader = step.nodes[0] if step.nodes else 1
            nodes = (leader,)
        event.nodes = tuple(nodes)
        f = step.fault
        if f in ("kill", "kill_leader", "crash_all"):
            for n in nodes:
                c.kill(n)
        elif f == "restart":
            for n in nodes:
                c.stop_node(n)
        elif f in ("pause", "pause_leader"):
            for n in nodes:
                c.pause(n)
        elif f in ("isolate", "isolate_leader", "halves"):
            event.minority = tuple(nodes)
            c.partition(list(nodes))
        elif f == "bridge":
            side_a, side_b = step.groups[0], step.groups[1]
            for a in side_a:
                for b in side_b:
                    c.cut(a, b)
        event.started_ns = time.monotonic_ns()
        self._set_active(event)

    def _victims(self, event: FaultEvent) -> set[int]:
        if event.step.fault == "bridge":
            return set()
        return set(event.nodes)

    def _hold(self, event: FaultEvent, stop: threading.Event) -> None:
        """Holds the fault for its duration, measuring meanwhile how long the shards
        whose leader was a victim take to get another leader."""
        victims = self._victims(event)
        waiting = {s for s, n in event.leaders_before.items() if n is not None and n in victims}
        if event.step.fault == "crash_all":
            waiting = set()  # measured after the restart (see _undo)
        event.new_leader_ms = {s: None for s in waiting}
        assert event.started_ns is not None
        end = time.monotonic() + event.step.hold
        while waiting and time.monotonic() < end:
            try:
                status = self.cluster.status()
            except DougDBError:
                status = None
            if status is not None:
                for s in list(waiting):
                    leader = status.shard(s).leader
                    if leader is not None and leader not in victims:
                        event.new_leader_ms[s] = (time.monotonic_ns() - event.started_ns) / 1e6
                        waiting.discard(s)
            if stop.wait(_POLL_S):
                return
        stop.wait(max(0.0, end - time.monotonic()))

    def _undo(self, event: FaultEvent) -> None:
        c, f = self.cluster, event.step.fault
        event.healed_ns = time.monotonic_ns()
        self._set_active(None)
        try:
            if f in ("kill", "kill_leader", "restart", "crash_all"):
                for n in event.nodes:
                    c.restart(n)
            elif f in ("pause", "pause_leader"):
                for n in event.nodes:
                    c.resume(n)
            elif f in PARTITION_FAULTS:
                c.heal()
        except DougDBError as err:
            msg = f"undoing {event.describe()}: {type(err).__name__}: {err}"
            event.error = (event.error + "; " if event.error else "") + msg
            self.errors.append(msg)
        event.recovered_ns = time.monotonic_ns()
        if f == "crash_all":  # from the first restart until every shard has a leader
            _, shards = self._shape()
            event.new_leader_ms = self._time_to_leaders(shards, event.healed_ns)

    def _time_to_leaders(self, shards: Sequence[int], since_ns: int) -> dict[int, Optional[float]]:
        out: dict[int, Optional[float]] = {s: None for s in shards}
        deadline = time.monotonic() + 30.0
        while time.monotonic() < deadline and any(v is None for v in out.values()):
            try:
                status = self.cluster.status()
            except DougDBError:
                status = None
            for s in shards:
                if out[s] is None and status is not None and status.shard(s).leader:
                    out[s] = (time.monotonic_ns() - since_ns) / 1e6
            time.sleep(_POLL_S)  # measuring the time to a leader, bounded by the deadline
        return out

    def heal_all(self) -> None:
        """Heals every partition and cut, resumes paused nodes and restarts dead ones.
        Idempotent; retries a node that does not answer for up to a minute, then raises
        the last error."""
        c = self.cluster
        self._set_active(None)
        for info in c.nodes:
            if info.paused:
                c.resume(info.id)
        for info in c.nodes:
            if info.pid is None:
                c.restart(info.id)
        deadline = time.monotonic() + _HEAL_TIMEOUT_S
        while True:
            try:
                c.heal()
                return
            except DougDBError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)  # retrying a node's admin RPC, bounded by the deadline


def plan(
    seed: int,
    seconds: float,
    nodes: Sequence[int],
    shards: Sequence[int],
    faults: Sequence[str],
    interval: tuple[float, float],
    hold: tuple[float, float],
    max_faults: int,
    must_include: Sequence[str] = (),
) -> list[Step]:
    """The schedule: faults drawn from ``faults`` with a seeded RNG, one after another,
    until ``seconds`` or ``max_faults`` (see :meth:`Nemesis.plan`)."""
    rng = random.Random(f"nemesis/{seed}")
    nodes = sorted(nodes)

    def fits(f: str) -> bool:
        if f == "bridge" and len(nodes) < 5:
            return False
        # Below 3 nodes no majority is left over: only faults that end by themselves.
        return len(nodes) >= 3 or f in ("pause", "pause_leader", "restart", "crash_all")

    usable = [f for f in faults if fits(f)]
    if not usable:
        return []
    kinds: list[str] = []
    t = rng.uniform(*interval)
    steps: list[Step] = []
    while len(steps) < max_faults:
        h = rng.uniform(*hold)
        if t + h > seconds:
            break
        fault = rng.choice(usable)
        steps.append(_step(rng, t, fault, h, nodes, shards))
        kinds.append(fault)
        t += h + rng.uniform(*interval)
    missing = [f for f in must_include if f not in kinds and fits(f)]
    # Seeded positions (distinct) take the faults that must appear.
    positions = rng.sample(range(len(steps)), min(len(missing), len(steps)))
    for f, i in zip(missing, positions):
        old = steps[i]
        steps[i] = _step(rng, old.at, f, old.hold, nodes, shards)
    return steps


def _step(
    rng: random.Random, at: float, fault: str, hold: float, nodes: Sequence[int],
    shards: Sequence[int],
) -> Step:
    minority_max = (len(nodes) - 1) // 2
    if fault in ("kill", "restart", "pause", "isolate"):
        return Step(at, fault, hold, nodes=(rng.choice(nodes),))
    if fault in LEADER_FAULTS:
        # The stand-in victim if no leader is known when it fires.
        return Step(at, fault, hold, nodes=(rng.choice(nodes),), shard=rng.choice(shards))
    if fault == "halves":
        size = rng.randint(1, max(1, minority_max))
        minority = tuple(sorted(rng.sample(list(nodes), size)))
        rest = tuple(n for n in nodes if n not in minority)
        return Step(at, fault, hold, nodes=minority, groups=(minority, rest))
    if fault == "bridge":
        order = list(nodes)
        rng.shuffle(order)
        bridge, rest = order[0], order[1:]
        half = len(rest) // 2
        a, b = tuple(sorted(rest[:half])), tuple(sorted(rest[half:]))
        return Step(at, fault, hold, nodes=(bridge,), groups=(a, b))
    if fault == "crash_all":
        return Step(at, fault, hold, nodes=tuple(nodes))
    raise ValueError(f"unknown fault {fault!r}")
