"""The discrete-time loop: one policy over one population, tick by tick.

Each tick, in production's order: returning users halt their jobs (the halt script's
rule `halt_actions`: queued ones are cancelled, running ones stop and keep their work up
to their last checkpoint); the scheduler enqueues the crossings of every phase open now
(the production selection rule `enqueue_bounds`, off-peak window `PhaseConfig.in_window`
and the enqueue script's refusal `enqueue_outcomes`); the policy
sets the workers (new pods are ready after the start delay; removed ones stop their jobs,
which requeue with their checkpoints); the ready slots run jobs for one tick.
Storage is in-memory arrays; users per phase come from the production thresholds
(`phase_for_idle` names the phase each threshold enters).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
from rq.job import JobStatus

from eros.core.phase_config import PhaseConfig
from eros.core.phases import phase_for_idle
from eros.operator.manifests import Owner
from eros.operator.planner import PhaseMetrics, phase_budget_replicas, plan, usable_millicores
from eros.operator.publication import build_phase_config
from eros.operator.spec import ProcessingSpec
from eros.pipeline.queue import ENQUEUED
from eros.pipeline.rules import HaltAction, enqueue_outcomes, halt_actions
from eros.pipeline.scheduler import DEEPEST_FIRST, crossing_bounds, enqueue_bounds
from eros.simulate.policies import Policy, Predictive
from eros.simulate.population import IdlePeriods
from eros.simulate.workers import JobCosts, kept_after_halt, slot_cores

logger = logging.getLogger(__name__)

__all__ = [
    "IdlePeriods",
    "SimulationResult",
    "crossing_bounds",
    "enqueue_bounds",
    "enqueue_outcomes",
    "halt_actions",
    "phase_for_idle",
    "plan",
    "simulate",
]

PHASES = 3
NONE, QUEUED, RUNNING, DONE, CANCELED, HALTED = range(6)
# The RQ status of each state's job hash ("": no job yet), and the halt rule's action on
# it (rows) by whether the job is still in its queue (columns): the rule is pure and these
# are all its inputs here, so it is evaluated once, not over strings every tick.
_RQ_STATUS = np.array(
    [
        "",
        JobStatus.QUEUED.value,
        JobStatus.STARTED.value,
        JobStatus.FINISHED.value,
        JobStatus.CANCELED.value,
        JobStatus.STOPPED.value,
    ]
)
_HALT_ACTIONS = halt_actions(_RQ_STATUS[:, None], [False, True])
CANCELS, STOPS = _HALT_ACTIONS == HaltAction.CANCEL, _HALT_ACTIONS == HaltAction.STOP
SECONDS_PER_MINUTE = 60
DEFAULT_POD_START_SECONDS = 15.0
# An idle period this long is a night's sleep: "before they next woke" is measured on these.
SLEEP_IDLE_SECONDS = 4 * 3600


@dataclass
class Minutes:
    """Per-minute series (one row per simulated minute)."""

    count: int
    users: npt.NDArray[np.int64] = field(init=False)
    queued: npt.NDArray[np.int64] = field(init=False)
    running: npt.NDArray[np.int64] = field(init=False)
    workers: npt.NDArray[np.int64] = field(init=False)
    cpu_allocated: npt.NDArray[np.float64] = field(init=False)  # cores, mean over the minute
    cpu_used: npt.NDArray[np.float64] = field(init=False)  # cores, mean over the minute
    halts: npt.NDArray[np.int64] = field(init=False)

    def __post_init__(self) -> None:
        shape = (self.count, PHASES)
        self.users = np.zeros(shape, np.int64)
        self.queued = np.zeros(shape, np.int64)
        self.running = np.zeros(shape, np.int64)
        self.workers = np.zeros(shape, np.int64)
        self.cpu_allocated = np.zeros(shape)
        self.cpu_used = np.zeros(shape)
        self.halts = np.zeros(shape, np.int64)


@dataclass
class SimulationResult:
    policy: str
    minutes: Minutes
    budget_replicas: tuple[int, ...]
    start_delays: list[npt.NDArray[np.float64]]  # per phase, seconds from crossing to start
    # Per phase, parallel to start_delays: the job's user crossed before the phase last
    # opened (before the run began, or while an off-peak-only phase's window was shut), so
    # its job waited in the backlog that the opening enqueues all at once.
    from_backlog: list[npt.NDArray[np.bool_]]
    thrown_cpu_seconds: list[float]
    jobs_enqueued: list[int]
    jobs_done: list[int]
    jobs_never_run: list[int]  # queued at the end and never started
    stranded_ticks: list[int]  # decisions that left an open phase's jobs with no worker
    budget_violations: int
    phase3_before_waking: float  # share of the nights (idle >= 4 h) begun and ended in the span
    cpu_hours_allocated: float
    cpu_hours_used: float
    peak_cores: float
    wall_seconds: float = 0.0


def _phase_config(spec: ProcessingSpec) -> PhaseConfig:
    return build_phase_config(spec, Owner(namespace="simulate", name="resource", uid=""), None)


def users_per_phase(
    periods: IdlePeriods, thresholds_s: list[int], t0_ms: int, dt_ms: int, ticks: int
) -> npt.NDArray[np.int64]:
    """Idle users per phase at every tick, as the activity index would count them."""
    counts = np.zeros((ticks + 1, PHASES), np.int64)
    bounds = [*thresholds_s, None]
    for i, threshold in enumerate(thresholds_s):
        # The phase a user enters at this threshold: the production arithmetic.
        phase = int(phase_for_idle(threshold * 1000, thresholds_s)) - 1
        enter = periods.start_ms + threshold * 1000
        nxt = bounds[i + 1]
        leave = (
            periods.end_ms
            if nxt is None
            else np.minimum(periods.end_ms, periods.start_ms + nxt * 1000)
        )
        entered = enter < leave
        # A user counts at a tick from the first tick at or after their entry.
        on = np.clip(-((t0_ms - enter[entered]) // dt_ms), 0, ticks + 1)
        off = np.clip(-((t0_ms - leave[entered]) // dt_ms), 0, ticks + 1)
        delta = np.bincount(on, minlength=ticks + 2) - np.bincount(off, minlength=ticks + 2)
        counts[:, phase] = np.cumsum(delta)[: ticks + 1]
    return counts


class _Phase:
    """One phase's queue, running jobs and pods."""

    def __init__(self, capacity: int) -> None:
        self.queue = np.zeros(max(capacity, 16), np.int64)
        self.head = 0
        self.tail = 0
        self.queued = 0
        self.running = np.zeros(0, np.int64)  # job ids
        self.remaining = np.zeros(0)  # CPU-seconds left for each running job
        self.pods: list[float] = []  # ready-at times (s since t0), ascending

    def push(self, jobs: npt.NDArray[np.int64]) -> None:
        if self.tail + len(jobs) > len(self.queue):
            live = self.queue[self.head : self.tail]
            grown = np.zeros(max(2 * len(self.queue), len(live) + len(jobs) + 16), np.int64)
            grown[: len(live)] = live
            self.queue, self.head, self.tail = grown, 0, len(live)
        self.queue[self.tail : self.tail + len(jobs)] = jobs
        self.tail += len(jobs)
        self.queued += len(jobs)


def simulate(
    spec: ProcessingSpec,
    periods: IdlePeriods,
    policy: Policy,
    *,
    start: datetime,
    hours: float,
    tick_seconds: float,
    pod_start_seconds: float = DEFAULT_POD_START_SECONDS,
    costs: JobCosts | None = None,
    seed: int = 0,
) -> SimulationResult:
    costs = costs or JobCosts()
    rng = np.random.default_rng(seed + 1)
    config = _phase_config(spec)
    thresholds = spec.idle_thresholds_seconds
    t0_ms = int(start.timestamp() * 1000)
    dt_ms = int(tick_seconds * 1000)
    ticks = int(hours * 3600 / tick_seconds)
    end_ms = t0_ms + ticks * dt_ms
    counts = users_per_phase(periods, thresholds, t0_ms, dt_ms, ticks)
    n = len(periods)
    state = np.zeros(n * PHASES, np.int8)
    started_once = np.zeros(n * PHASES, bool)
    enqueued_at = np.zeros(n * PHASES, np.float32)  # s since t0
    total = np.zeros((periods.users, PHASES))  # a user's unfinished work, by phase
    kept = np.zeros((periods.users, PHASES))  # ... and what its checkpoint keeps
    return_order = np.argsort(periods.end_ms, kind="stable")
    returns_sorted = periods.end_ms[return_order]
    phases = [_Phase(n // 4) for _ in range(PHASES)]
    specs = spec.phases
    rate = [slot_cores(p.cpu_per_worker_millicores) for p in specs]
    budgets_m = [
        min(spec.cpu_pool_millicores * p.cpu_budget_percent // 100, usable_millicores(spec))
        for p in specs
    ]
    usable_m = usable_millicores(spec)
    minutes = Minutes(math.ceil(ticks * tick_seconds / SECONDS_PER_MINUTE) + 1)
    delays: list[list[npt.NDArray[np.float64]]] = [[] for _ in range(PHASES)]
    backlog: list[list[npt.NDArray[np.bool_]]] = [[] for _ in range(PHASES)]
    thrown = [0.0] * PHASES
    enq = [0] * PHASES
    done_jobs = [0] * PHASES
    violations = 0
    watermarks = [t0_ms] * PHASES
    is_open = [True] * PHASES
    opened_s = [0.0] * PHASES  # s since t0 of each phase's latest opening
    stranded = [0] * PHASES
    caps = phase_budget_replicas(spec)
    policy_every = max(1, round(policy.tick_seconds / tick_seconds))
    desired: tuple[int, ...] = (0,) * PHASES
    # Whole milliseconds: a float key would make NumPy cast the int64 index on every search.
    horizon_ms = int(policy.horizon_seconds * 1000) if isinstance(policy, Predictive) else 0
    return_ptr = int(np.searchsorted(returns_sorted, t0_ms, "right"))
    used_core_s = 0.0
    alloc_core_s = 0.0
    peak = 0.0

    def stop(i: int, mask: npt.NDArray[np.bool_], final: int) -> None:
        """Stop the masked running jobs of phase i, keeping work up to their checkpoint."""
        ph = phases[i]
        jobs = ph.running[mask]
        user = periods.user[jobs // PHASES]
        work = total[user, i]
        done = work - ph.remaining[mask]
        keep = kept_after_halt(done, work, costs.checkpoints[i])
        thrown[i] += float(np.sum(done - np.maximum(keep, kept[user, i])).clip(0))
        kept[user, i] = np.maximum(keep, kept[user, i])
        state[jobs] = final
        ph.running, ph.remaining = ph.running[~mask], ph.remaining[~mask]
        if final == QUEUED:
            ph.push(jobs)

    for k in range(ticks + 1):
        now_ms = t0_ms + k * dt_ms
        now_s = k * tick_seconds
        minute = int(now_s // SECONDS_PER_MINUTE)
        # 1. Users back since the last tick halt their jobs.
        upto = int(np.searchsorted(returns_sorted, now_ms, "right"))
        back = return_order[return_ptr:upto]
        return_ptr = upto
        if len(back):
            if isinstance(policy, Predictive):
                policy.observe_returns(
                    (periods.end_ms[back] - periods.start_ms[back]) / 1000.0,
                    datetime.fromtimestamp(now_ms / 1000, UTC),
                )
            # The halt script's rule (CANCELS, STOPS) for every phase's job of the users
            # back; a simulated queued job is always in its queue (none is mid-dequeue).
            jobs = back[:, None] * PHASES + np.arange(PHASES)
            now_state = state[jobs]
            listed = (now_state == QUEUED).astype(np.intp)  # a column, not a mask
            cancel, halt = CANCELS[now_state, listed], STOPS[now_state, listed]
            for i in range(PHASES):
                queued = jobs[cancel[:, i], i]
                state[queued] = CANCELED
                phases[i].queued -= len(queued)
                running = jobs[halt[:, i], i]
                if len(running):
                    stop(i, np.isin(phases[i].running, running), HALTED)
                minutes.halts[minute, i] += len(queued) + len(running)
        # 2. The scheduler: each open phase's crossings since its watermark, deepest first.
        for phase in DEEPEST_FIRST:
            i = int(phase) - 1
            was_open, is_open[i] = is_open[i], config.in_window(phase, now_ms)
            if is_open[i] and not was_open:
                opened_s[i] = now_s
            if not is_open[i]:
                continue  # the watermark is held for the window
            bounds = enqueue_bounds(watermarks[i], now_ms, config, phase)
            watermarks[i] = now_ms
            if bounds is None:
                continue
            low, high = bounds
            lo = int(np.searchsorted(periods.start_ms, low, "right"))
            hi = int(np.searchsorted(periods.start_ms, high, "right"))
            if hi == lo:
                continue  # nobody crossed since the last tick
            candidates = np.arange(lo, hi)
            jobs = candidates * PHASES + i
            # The enqueue script's refusal, over each candidate's activity now: the
            # heartbeat of their return once they are back, else the one they idle since.
            since, end = periods.start_ms[lo:hi], periods.end_ms[lo:hi]
            activity = np.where(end <= now_ms, end, since)
            jobs = jobs[enqueue_outcomes(state[jobs] != NONE, activity, since) == ENQUEUED]
            state[jobs] = QUEUED
            enqueued_at[jobs] = now_s
            phases[i].push(jobs)
            enq[i] += len(jobs)
        # 3. The policy sets the workers.
        if k % policy_every == 0:
            running_now = [len(p.running) for p in phases]
            metrics = [
                PhaseMetrics(int(counts[k, i]), phases[i].queued, running_now[i])
                for i in range(PHASES)
            ]
            near = []
            if isinstance(policy, Predictive):
                for threshold in thresholds:
                    low_ms = now_ms - threshold * 1000
                    lo = int(np.searchsorted(periods.start_ms, low_ms, "right"))
                    hi = int(np.searchsorted(periods.start_ms, low_ms + horizon_ms, "right"))
                    idx = np.arange(lo, hi)
                    idx = idx[periods.end_ms[idx] > now_ms]
                    near.append((now_ms - periods.start_ms[idx]) / 1000.0)
            current = tuple(len(p.pods) for p in phases)
            desired = policy.decide(
                datetime.fromtimestamp(now_ms / 1000, UTC), metrics, current, near
            )
            for i, ph in enumerate(phases):
                want = desired[i]
                if is_open[i] and ph.queued > 0 and want == 0 and caps[i] > 0:
                    stranded[i] += 1
                if want > len(ph.pods):
                    ph.pods.extend([now_s + pod_start_seconds] * (want - len(ph.pods)))
                elif want < len(ph.pods):
                    del ph.pods[want:]  # the newest (still starting) go first
        alloc = 0
        for i, ph in enumerate(phases):
            allocated = len(ph.pods) * specs[i].cpu_per_worker_millicores
            alloc += allocated
            if allocated > budgets_m[i]:
                violations += 1
            ready = sum(1 for at in ph.pods if at <= now_s)
            slots = ready  # one job at a time per worker
            if len(ph.running) > slots:  # workers removed: their jobs checkpoint and requeue
                mask = np.zeros(len(ph.running), bool)
                mask[slots:] = True
                stop(i, mask, QUEUED)
            # 4. The ready slots run jobs for one tick.
            capacity = rate[i] * tick_seconds
            used = 0.0
            finished = ph.remaining <= capacity
            spare = float(np.sum(capacity - ph.remaining[finished]))
            used += float(np.sum(ph.remaining[finished])) + capacity * int((~finished).sum())
            if finished.any():
                jobs = ph.running[finished]
                state[jobs] = DONE
                users = periods.user[jobs // PHASES]
                total[users, i] = 0.0
                kept[users, i] = 0.0
                done_jobs[i] += len(jobs)
            ph.running = ph.running[~finished]
            ph.remaining = ph.remaining[~finished] - capacity
            free = slots - len(ph.running)
            spare += capacity * max(0, free - int(finished.sum()))
            while free > 0 and ph.queued > 0 and ph.head < ph.tail:
                chunk = ph.queue[ph.head : min(ph.tail, ph.head + max(256, 4 * free))]
                live = chunk[state[chunk] == QUEUED]
                users = periods.user[live // PHASES]
                fresh = total[users, i] == 0
                total[users[fresh], i] = costs.draw(rng, i, int(fresh.sum()))
                need = total[users, i] - kept[users, i]
                cum = np.cumsum(need)
                # Jobs that fit in the spare CPU of this tick complete within it.
                n_done = int(np.searchsorted(cum, spare, "right"))
                n_start = min(len(live) - n_done, free)
                taken = n_done + n_start
                if taken < len(live):
                    ph.head += int(np.flatnonzero(chunk == live[taken])[0])
                else:
                    ph.head += len(chunk)
                ph.queued -= taken
                before = np.concatenate([[0.0], cum])[:taken]
                start_s = now_s + tick_seconds * np.minimum(before / max(spare, 1e-9), 1.0)
                started = live[:taken]
                first = ~started_once[started]
                # From the crossing, or from the window's opening for a crossing outside it.
                crossed_s = (
                    periods.start_ms[started // PHASES] + thresholds[i] * 1000 - t0_ms
                ) / 1000.0
                cross_s = np.maximum(crossed_s, enqueued_at[started] - tick_seconds)
                delays[i].append((start_s - cross_s)[first])
                backlog[i].append((crossed_s < opened_s[i])[first])
                started_once[started] = True
                if n_done:
                    done = live[:n_done]
                    state[done] = DONE
                    du = users[:n_done]
                    total[du, i] = 0.0
                    kept[du, i] = 0.0
                    done_jobs[i] += n_done
                    used += float(cum[n_done - 1])
                    spare -= float(cum[n_done - 1])
                if n_start:
                    starting = live[n_done:taken]
                    remaining = need[n_done:taken].copy()
                    given = min(spare, capacity, float(remaining[0]))
                    remaining[0] -= given
                    used += given
                    spare = 0.0
                    state[starting] = RUNNING
                    ph.running = np.concatenate([ph.running, starting])
                    ph.remaining = np.concatenate([ph.remaining, remaining])
                free -= n_start
            cores_used = used / tick_seconds
            used_core_s += used
            minutes.users[minute, i] = counts[k, i]
            minutes.queued[minute, i] = ph.queued
            minutes.running[minute, i] = len(ph.running)
            minutes.workers[minute, i] = len(ph.pods)
            per_minute = tick_seconds / SECONDS_PER_MINUTE
            minutes.cpu_allocated[minute, i] += allocated / 1000 * per_minute
            minutes.cpu_used[minute, i] += cores_used * per_minute
        if alloc > usable_m:
            violations += 1
        alloc_core_s += alloc / 1000 * tick_seconds
        peak = max(peak, alloc / 1000)

    never = [0] * PHASES
    for i in range(PHASES):
        queued = np.flatnonzero(state[i::PHASES] == QUEUED) * PHASES + i
        never[i] = int((~started_once[queued]).sum())
    deep = state[2::PHASES]
    crossed = (
        (periods.start_ms >= t0_ms)
        & (periods.end_ms <= end_ms)
        & (periods.end_ms - periods.start_ms >= max(thresholds[2], SLEEP_IDLE_SECONDS) * 1000)
    )
    share = float(np.mean(deep[crossed] == DONE)) if crossed.any() else float("nan")
    return SimulationResult(
        policy=policy.name,
        minutes=minutes,
        budget_replicas=phase_budget_replicas(spec),
        start_delays=[np.concatenate(d) if d else np.zeros(0) for d in delays],
        from_backlog=[np.concatenate(b) if b else np.zeros(0, bool) for b in backlog],
        thrown_cpu_seconds=thrown,
        jobs_enqueued=enq,
        jobs_done=done_jobs,
        jobs_never_run=never,
        stranded_ticks=stranded,
        budget_violations=violations,
        phase3_before_waking=share,
        cpu_hours_allocated=alloc_core_s / 3600,
        cpu_hours_used=used_core_s / 3600,
        peak_cores=peak,
    )
