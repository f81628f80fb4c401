"""Prometheus metrics of the job pipeline, all labelled by phase.

Each process kind exports only its own series, from a registry of its own: the scheduler
serves `SCHEDULER_REGISTRY` and a worker `WORKER_REGISTRY` (the API and the operator have
theirs), so that importing this module, as the API does through the halter, exports
nothing. The series are created unregistered and each registry takes the ones its process
produces; a series both produce (halts, requeues, the sampled loads) is one object in both
registries, which is harmless since each process runs as one kind only.

Each process counts what it witnessed: the scheduler counts enqueues and requeues of
abandoned jobs, a worker counts the executions it ran and the halts it found by itself
(the API counts the halts its heartbeats requested, in its own series). Work horses are
short-lived forks, so their worker records their outcome once they exit. Queue depth and
running jobs are sampled from Redis when scraped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import redis
from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
)
from prometheus_client.registry import Collector

from eros.core.llm.metrics import LLM_SERIES
from eros.core.phase_config import PhaseConfig
from eros.pipeline.queue import phase_loads

logger = logging.getLogger(__name__)

# Jobs run from seconds (phase 1) to tens of minutes (phase 3).
DURATION_BUCKETS_SECONDS = (0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0)
# Halting aims at tens of milliseconds; the tail shows a lost stop command or a stuck job.
HALT_BUCKETS_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
TICK_BUCKETS_SECONDS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

JOBS_ENQUEUED = Counter(
    "eros_jobs_enqueued_total", "Jobs enqueued by the scheduler.", ["phase"], registry=None
)
JOBS_STARTED = Counter(
    "eros_jobs_started_total", "Job executions started.", ["phase"], registry=None
)
JOBS_COMPLETED = Counter(
    "eros_jobs_completed_total", "Jobs that completed.", ["phase"], registry=None
)
JOBS_HALTED = Counter(
    "eros_jobs_halted_total",
    "Jobs this process found halted because their user came back, by the state they were "
    "in (queued, running).",
    ["phase", "state"],
    registry=None,
)
JOBS_FAILED = Counter(
    "eros_jobs_failed_total",
    "Jobs that failed for good, retries exhausted.",
    ["phase"],
    registry=None,
)
JOBS_RETRIED = Counter(
    "eros_jobs_retried_total",
    "Executions that raised and were scheduled again.",
    ["phase"],
    registry=None,
)
JOBS_REQUEUED = Counter(
    "eros_jobs_requeued_total",
    "Jobs put back in their queue to resume from their checkpoint, by reason "
    "(shutdown, worker-lost, abandoned).",
    ["phase", "reason"],
    registry=None,
)
JOB_DURATION = Histogram(
    "eros_job_duration_seconds",
    "Wall time of a job execution, by outcome.",
    ["phase", "outcome"],
    buckets=DURATION_BUCKETS_SECONDS,
    registry=None,
)
HALT_LATENCY = Histogram(
    "eros_job_halt_latency_seconds",
    "From the heartbeat's arrival to the job stopped (running) or removed (queued).",
    ["phase", "state"],
    buckets=HALT_BUCKETS_SECONDS,
    registry=None,
)
QUEUE_DEPTH = Gauge(
    "eros_queue_depth", "Jobs waiting in the phase's queue.", ["phase"], registry=None
)
JOBS_RUNNING = Gauge("eros_jobs_running", "Jobs running on live workers.", ["phase"], registry=None)
SCHEDULER_TICK = Histogram(
    "eros_scheduler_tick_duration_seconds",
    "Time of one scheduler tick.",
    buckets=TICK_BUCKETS_SECONDS,
    registry=None,
)
SCHEDULER_LAG = Gauge(
    "eros_scheduler_lag_seconds",
    "How far behind now the phase's scheduled threshold crossings are.",
    ["phase"],
    registry=None,
)
SCHEDULER_LEADER = Gauge(
    "eros_scheduler_leader", "1 while this scheduler holds the lease.", registry=None
)
USERS_EXAMINED = Counter(
    "eros_scheduler_users_examined_total",
    "Users found crossing a threshold by the scheduler's range queries.",
    ["phase"],
    registry=None,
)
SCHEDULER_PHASE_OPEN = Gauge(
    "eros_scheduler_phase_open",
    "1 while the phase may be scheduled (inside its off-peak window, or it has none); its "
    "lag grows while it is closed, by design.",
    ["phase"],
    registry=None,
)
CHECKPOINTS_SAVED = Counter(
    "eros_checkpoints_saved_total",
    "Checkpoints jobs saved, periodically or as they were halted or drained.",
    ["phase"],
    registry=None,
)

_SAMPLED: tuple[Collector, ...] = (QUEUE_DEPTH, JOBS_RUNNING)
SCHEDULER_SERIES: tuple[Collector, ...] = (
    JOBS_ENQUEUED,
    JOBS_HALTED,
    JOBS_REQUEUED,
    SCHEDULER_TICK,
    SCHEDULER_LAG,
    SCHEDULER_LEADER,
    USERS_EXAMINED,
    SCHEDULER_PHASE_OPEN,
    *_SAMPLED,
)
WORKER_SERIES: tuple[Collector, ...] = (
    JOBS_STARTED,
    JOBS_COMPLETED,
    JOBS_HALTED,
    JOBS_FAILED,
    JOBS_RETRIED,
    JOBS_REQUEUED,
    JOB_DURATION,
    HALT_LATENCY,
    CHECKPOINTS_SAVED,
    *LLM_SERIES,  # phase 3's Claude calls
    *_SAMPLED,
)


def process_registry(series: tuple[Collector, ...]) -> CollectorRegistry:
    """A registry of `series` plus the process's own CPU, memory and GC figures (what
    prometheus_client's default registry would add)."""
    registry = CollectorRegistry(auto_describe=True)
    for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR, *series):
        registry.register(collector)
    return registry


SCHEDULER_REGISTRY = process_registry(SCHEDULER_SERIES)
WORKER_REGISTRY = process_registry(WORKER_SERIES)


def phase_label(phase: int) -> str:
    return str(int(phase))


def load_sampler(
    connection: redis.Redis,
    phase_config: Callable[[], PhaseConfig],
    phases: list[int] | None = None,
) -> Callable[[], None]:
    """A function that refreshes the queue-depth and running-jobs gauges from Redis, for
    the queues of the phase configuration the process follows."""

    def sample() -> None:
        try:
            loads = phase_loads(connection, phase_config(), time.time())
        except redis.RedisError:
            logger.warning("Could not sample queue depths for /metrics; Redis is unavailable.")
            return
        for load in loads:
            if phases is None or int(load.phase) in phases:
                QUEUE_DEPTH.labels(phase_label(load.phase)).set(load.queued)
                JOBS_RUNNING.labels(phase_label(load.phase)).set(load.running)

    return sample
