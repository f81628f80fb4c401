"""A whole night through the planner: users drift from phase 1 to phase 3, with jobs
in every queue, and no phase's work is stranded when its idle band empties.

Each row is one tick: the idle users in each band, the queued and running jobs of each
phase, and what the planner must decide (replicas and reasons). Each tick starts from
the replicas and the state the previous one left, as in the operator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from eros.operator.planner import PhaseMetrics, PlannerState, plan
from eros.operator.spec import DEFAULT_PHASES, ProcessingSpec, parse_spec

EVENING = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday

Triple = tuple[int, int, int]


@dataclass(frozen=True)
class Tick:
    at: str  # HH:MM UTC, "+1" for the next morning
    idle: Triple  # users idle in the bands of phases 1, 2, 3
    queued: Triple
    running: Triple
    desired: Triple
    reasons: tuple[str, str, str]


def run_night(spec: ProcessingSpec, night: Sequence[Tick]) -> None:
    state, current = PlannerState(), [0, 0, 0]
    for tick in night:
        clock, _, days = tick.at.partition("+")
        hours, minutes = map(int, clock.split(":"))
        now = EVENING.replace(hour=hours, minute=minutes) + timedelta(days=int(days or 0))
        metrics = [
            PhaseMetrics(*figures)
            for figures in zip(tick.idle, tick.queued, tick.running, strict=True)
        ]
        result = plan(spec, metrics, current, state, now)
        decided = (result.desired, tuple(p.reason.value for p in result.phases))
        assert decided == (tick.desired, tick.reasons), tick
        state, current = result.state, list(result.desired)


NONE = "NoIdleUsers"
BUDGET = "PhaseBudgetLimited"
POOL = "PoolLimited"
DRAINING = "Draining"
STABILIZING = "ScaleDownStabilizing"
OFF_PEAK = "OutsideOffPeakWindow"

# The default resource: 4 cores less 5 % headroom; phase 1 holds at most 2 workers of
# 100m (5 %), phase 2 2 of 250m (15 %), phase 3 3 of 1 core; a 5-minute scale-down window.
# Until 20:00 a band that empties would have taken its phase's workers with it, queued
# jobs or not; from 19:30 on, the rows where a band is empty and its queue is not are the
# work that was stranded.
DEFAULT_NIGHT = [
    Tick("18:00", (0, 0, 0), (0, 0, 0), (0, 0, 0), (0, 0, 0), (NONE, NONE, NONE)),
    # The office empties: phase-1 jobs for everyone who left, within phase 1's 5 %.
    Tick("18:20", (20, 0, 0), (18, 0, 0), (0, 0, 0), (2, 0, 0), (BUDGET, NONE, NONE)),
    Tick("18:40", (10, 20, 0), (14, 18, 0), (2, 0, 0), (2, 2, 0), (BUDGET, BUDGET, NONE)),
    Tick("19:00", (5, 15, 10), (10, 16, 10), (2, 2, 0), (2, 2, 3), (BUDGET, BUDGET, BUDGET)),
    # Band 1 is empty, phase 1's queue is not: it keeps its workers.
    Tick("19:30", (0, 10, 20), (6, 12, 10), (2, 2, 3), (2, 2, 3), (BUDGET, BUDGET, BUDGET)),
    # Everyone is past an hour: phases 1 and 2 drain their queues beside phase 3.
    Tick("20:00", (0, 0, 30), (0, 8, 14), (2, 2, 3), (2, 2, 3), (DRAINING, BUDGET, BUDGET)),
    # One phase-1 job left, the last tick's want 10 minutes old: down to that one job.
    Tick("20:10", (0, 0, 30), (0, 4, 12), (1, 2, 3), (1, 2, 3), (DRAINING, BUDGET, BUDGET)),
    # Phase 1 is done: nothing left to do, its worker goes at once.
    Tick("20:12", (0, 0, 30), (0, 4, 12), (0, 2, 3), (0, 2, 3), (NONE, BUDGET, BUDGET)),
    Tick("20:40", (0, 0, 30), (0, 0, 10), (0, 2, 3), (0, 2, 3), (NONE, DRAINING, BUDGET)),
    # One phase-2 job finished: the want of 20:40 holds the second worker for 5 minutes.
    Tick("20:42", (0, 0, 30), (0, 0, 10), (0, 1, 3), (0, 2, 3), (NONE, STABILIZING, BUDGET)),
    # The window has passed: down to the running job, not below it.
    Tick("20:46", (0, 0, 30), (0, 0, 9), (0, 1, 3), (0, 1, 3), (NONE, DRAINING, BUDGET)),
    Tick("21:00", (0, 0, 30), (0, 0, 8), (0, 0, 3), (0, 0, 3), (NONE, NONE, BUDGET)),
    Tick("23:00", (0, 0, 30), (0, 0, 1), (0, 0, 3), (0, 0, 3), (NONE, NONE, BUDGET)),
    Tick("23:30", (0, 0, 30), (0, 0, 0), (0, 0, 2), (0, 0, 2), (NONE, NONE, "Demand")),
    # Phase 3 is done but its band is full: minReplicas (0) is all it keeps.
    Tick("00:00+1", (0, 0, 30), (0, 0, 0), (0, 0, 0), (0, 0, 0), (NONE, NONE, "Demand")),
    Tick("07:30+1", (0, 0, 0), (0, 0, 0), (0, 0, 0), (0, 0, 0), (NONE, NONE, NONE)),
]


def test_a_night_with_the_default_resource_runs_every_queued_job() -> None:
    run_night(parse_spec({}), DEFAULT_NIGHT)


def contended_off_peak() -> ProcessingSpec:
    """2 cores less 10 % = 1800m for 200m, 500m and 1-core workers, every phase allowed
    all of it, phase 3 off-peak only (22:00-06:00 UTC), the deepest phase first."""
    phases = [
        {**p, "cpuBudgetPercent": 100, "cpuPerWorker": cpu, "maxReplicas": 10}
        for p, cpu in zip(DEFAULT_PHASES, ("200m", "500m", "1"), strict=True)
    ]
    phases[2]["offPeakOnly"] = True
    return parse_spec(
        {
            "cpuPool": "2",
            "headroomPercent": 10,
            "phases": phases,
            "offPeak": {"start": "22:00", "end": "06:00", "timeZone": "UTC"},
            "scaleDown": {"stabilizationWindowSeconds": 0},
        }
    )


CONTENDED_NIGHT = [
    # Phase 3 may not run yet: its jobs wait in its queue. Phases 1 and 2 get a worker
    # each, then phase 2 (before phase 1) fills its 3 workers; 100m is left, too little.
    Tick("20:00", (5, 5, 5), (5, 5, 5), (0, 0, 0), (1, 3, 0), (POOL, BUDGET, OFF_PEAK)),
    # Bands 1 and 2 empty, their queues not: they keep their workers.
    Tick("21:30", (0, 0, 15), (4, 2, 5), (1, 3, 0), (1, 3, 0), (POOL, BUDGET, OFF_PEAK)),
    # The window opens: phase 3 takes its core before phase 2's two extra workers (their
    # jobs requeue), yet phases 1 and 2 keep a worker each.
    Tick("22:00", (0, 0, 15), (2, 0, 5), (1, 3, 0), (1, 1, 1), (POOL, POOL, BUDGET)),
    Tick("22:30", (0, 0, 15), (0, 1, 4), (1, 1, 1), (1, 1, 1), (DRAINING, POOL, BUDGET)),
    Tick("22:50", (0, 0, 15), (0, 0, 4), (0, 1, 1), (0, 1, 1), (NONE, DRAINING, BUDGET)),
    Tick("23:00", (0, 0, 15), (0, 0, 3), (0, 0, 1), (0, 0, 1), (NONE, NONE, BUDGET)),
    # The window closes with jobs left: no CPU outside it, the jobs stay queued for it.
    Tick("06:00+1", (0, 0, 15), (0, 0, 2), (0, 0, 1), (0, 0, 0), (NONE, NONE, OFF_PEAK)),
]


def test_a_contended_night_strands_no_phase_and_keeps_off_peak_work_for_the_window() -> None:
    run_night(contended_off_peak(), CONTENDED_NIGHT)


# --- A simulated night --------------------------------------------------------------

THRESHOLDS_MINUTES = (10, 30, 60)  # the default idleAfter of phases 1, 2, 3
JOB_MINUTES = (6, 10, 30)  # what one job of each phase takes a worker


@dataclass
class PhaseQueue:
    queued: int = 0
    running: list[int] = field(default_factory=list)  # minutes left of each running job
    done: int = 0


def test_a_simulated_night_finishes_every_job_though_bands_empty_with_work_queued() -> None:
    """30 users leave between 18:00 and 18:29 and stay away; the scheduler enqueues one
    job per user and phase as they cross each threshold; a worker runs one job at a time.
    Phases 1 and 2 still hold jobs when their bands empty, and finish them all."""
    spec = parse_spec({})
    left = [EVENING.replace(hour=18, minute=k) for k in range(30)]
    queues = [PhaseQueue() for _ in range(3)]
    backlog_when_band_emptied: dict[int, int] = {}
    reasons: list[set[str]] = [set(), set(), set()]
    state, current = PlannerState(), [0, 0, 0]
    requeued = 0
    now = EVENING.replace(hour=18)
    while now < EVENING.replace(hour=7) + timedelta(days=1):
        idle_minutes = [int((now - at).total_seconds() // 60) for at in left]
        bands = [0, 0, 0]
        for minutes in idle_minutes:
            band = sum(minutes >= threshold for threshold in THRESHOLDS_MINUTES)
            if band:
                bands[band - 1] += 1
            for i, threshold in enumerate(THRESHOLDS_MINUTES):
                queues[i].queued += minutes == threshold
        for i, queue in enumerate(queues):
            jobs = queue.queued + len(queue.running)
            if bands[i] == 0 and i not in backlog_when_band_emptied and queue.done:
                backlog_when_band_emptied[i] = jobs

        metrics = [PhaseMetrics(bands[i], q.queued, len(q.running)) for i, q in enumerate(queues)]
        result = plan(spec, metrics, current, state, now)
        state, current = result.state, list(result.desired)
        for i, (queue, workers) in enumerate(zip(queues, current, strict=True)):
            reasons[i].add(result.phases[i].reason.value)
            # Fewer workers than running jobs: the extra jobs requeue.
            requeued += max(0, len(queue.running) - workers)
            queue.queued += max(0, len(queue.running) - workers)
            del queue.running[workers:]
            started = min(queue.queued, workers - len(queue.running))
            queue.queued -= started
            queue.running += [JOB_MINUTES[i]] * started
            queue.running = [minutes - 1 for minutes in queue.running]
            queue.done += sum(minutes == 0 for minutes in queue.running)
            queue.running = [minutes for minutes in queue.running if minutes > 0]
        now += timedelta(minutes=1)

    # Jobs of phases 1 and 2 still queued or running when the last user left their band.
    assert backlog_when_band_emptied == {0: 14, 1: 20}
    assert requeued == 0  # no running job was ever stopped: the pool fits every budget
    assert [q.done for q in queues] == [30, 30, 30]
    assert [(q.queued, q.running) for q in queues] == [(0, [])] * 3
    assert "Draining" in reasons[0] and "Draining" in reasons[1]
