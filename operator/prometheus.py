"""The operator's Prometheus metrics, in a registry of their own, served on their own port."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Sequence
from datetime import datetime
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    start_http_server,
)

from eros.operator.planner import (
    PhaseMetrics,
    Plan,
    PlanReason,
    in_off_peak,
    phase_budget_replicas,
    usable_millicores,
)
from eros.operator.spec import ProcessingSpec
from eros.operator.status import DeploymentState

logger = logging.getLogger(__name__)

MILLICORES_PER_CORE = 1000
RECONCILE_BUCKETS_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

# The operator's series only (plus its process's CPU, memory and GC figures), never the
# pipeline's or the API's, whatever modules the operator imports.
REGISTRY = CollectorRegistry(auto_describe=True)
for _collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
    REGISTRY.register(_collector)
_PHASE_LABELS = ("namespace", "name", "phase")

IDLE_USERS = Gauge(
    "eros_operator_idle_users", "Users idle in the phase.", _PHASE_LABELS, registry=REGISTRY
)
QUEUED_JOBS = Gauge(
    "eros_operator_queued_jobs",
    "Jobs waiting in the phase's queue.",
    _PHASE_LABELS,
    registry=REGISTRY,
)
RUNNING_JOBS = Gauge(
    "eros_operator_running_jobs",
    "Jobs being run by the phase's workers.",
    _PHASE_LABELS,
    registry=REGISTRY,
)
DESIRED_REPLICAS = Gauge(
    "eros_operator_desired_replicas",
    "Worker replicas the planner wants for the phase.",
    _PHASE_LABELS,
    registry=REGISTRY,
)
CPU_ALLOCATED = Gauge(
    "eros_operator_cpu_allocated_cores",
    "CPU of the phase's desired replicas, in cores.",
    _PHASE_LABELS,
    registry=REGISTRY,
)
SCALINGS = Counter(
    "eros_operator_scalings_total",
    "Replica changes applied to worker Deployments.",
    (*_PHASE_LABELS, "direction"),
    registry=REGISTRY,
)
RECONCILE_SECONDS = Histogram(
    "eros_operator_reconcile_duration_seconds",
    "Duration of one tick: read metrics, plan, scale, write status.",
    ("namespace", "name"),
    buckets=RECONCILE_BUCKETS_SECONDS,
    registry=REGISTRY,
)
ERRORS = Counter(
    "eros_operator_reconcile_errors_total",
    "Ticks that failed, by reason.",
    ("namespace", "name", "reason"),
    registry=REGISTRY,
)
DEGRADED = Gauge(
    "eros_operator_degraded",
    "1 while the resource is Degraded (metrics unreadable).",
    ("namespace", "name"),
    registry=REGISTRY,
)

_PER_PHASE = (IDLE_USERS, QUEUED_JOBS, RUNNING_JOBS, DESIRED_REPLICAS, CPU_ALLOCATED)


def record_plan(
    namespace: str,
    name: str,
    spec: ProcessingSpec,
    metrics: Sequence[PhaseMetrics],
    plan: Plan,
) -> None:
    for phase, figures, planned in zip(spec.phases, metrics, plan.phases, strict=True):
        labels = (namespace, name, phase.name)
        IDLE_USERS.labels(*labels).set(figures.idle_users)
        QUEUED_JOBS.labels(*labels).set(figures.queued_jobs)
        RUNNING_JOBS.labels(*labels).set(figures.running_jobs)
        DESIRED_REPLICAS.labels(*labels).set(planned.desired)
        CPU_ALLOCATED.labels(*labels).set(planned.cpu_millicores / MILLICORES_PER_CORE)


def record_scaling(namespace: str, name: str, phase: str, before: int, after: int) -> None:
    direction = "up" if after > before else "down"
    SCALINGS.labels(namespace, name, phase, direction).inc()


def forget(namespace: str, name: str, phases: Sequence[str]) -> None:
    """Drop the series of a deleted resource, so that they stop being exported."""
    for gauge in _PER_PHASE:
        for phase in phases:
            with contextlib.suppress(KeyError):
                gauge.remove(namespace, name, phase)
    with contextlib.suppress(KeyError):
        DEGRADED.remove(namespace, name)
    _forget_tick(namespace, name, phases)


class MetricsServer:
    """`/metrics` on a port of its own, in a daemon thread, as prometheus_client serves it."""

    def __init__(self, port: int, address: str = "0.0.0.0") -> None:
        self.port = port
        self.address = address
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._server, self._thread = start_http_server(self.port, self.address, registry=REGISTRY)
        self.port = self._server.server_port
        logger.info("Serving operator metrics on port %d.", self.port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None


# What the dashboards and alerts compare the plan with: the workers that are ready, each
# phase's budget, the usable pool, why each phase got what it got, and whether the loop
# still ticks. Set once per tick by `record_tick`.
READY_REPLICAS = Gauge(
    "eros_operator_ready_replicas",
    "Worker replicas of the phase that are ready.",
    _PHASE_LABELS,
    registry=REGISTRY,
)
BUDGET_REPLICAS = Gauge(
    "eros_operator_budget_replicas",
    "Most workers the phase may have on its own: its CPU budget share of the pool.",
    _PHASE_LABELS,
    registry=REGISTRY,
)
CPU_BUDGET = Gauge(
    "eros_operator_cpu_budget_cores",
    "CPU of the phase's budget in workers, in cores (comparable with the CPU allocated).",
    _PHASE_LABELS,
    registry=REGISTRY,
)
CPU_USABLE = Gauge(
    "eros_operator_cpu_usable_cores",
    "CPU all phases together may use: the pool less the headroom, in cores.",
    ("namespace", "name"),
    registry=REGISTRY,
)
PLAN_REASON = Gauge(
    "eros_operator_plan_reason",
    "1 for the reason of the phase's current plan, 0 for every other reason.",
    (*_PHASE_LABELS, "reason"),
    registry=REGISTRY,
)
OFF_PEAK_OPEN = Gauge(
    "eros_operator_off_peak_window_open",
    "1 while the resource's off-peak window is open, 0 outside it.",
    ("namespace", "name"),
    registry=REGISTRY,
)
LAST_TICK = Gauge(
    "eros_operator_last_tick_timestamp_seconds",
    "When the resource's last tick ended, in Unix seconds; a stale value means a stuck loop.",
    ("namespace", "name"),
    registry=REGISTRY,
)

_PER_PHASE_TICK = (READY_REPLICAS, BUDGET_REPLICAS, CPU_BUDGET)
_PER_RESOURCE_TICK = (CPU_USABLE, OFF_PEAK_OPEN, LAST_TICK)


def record_tick(
    namespace: str,
    name: str,
    spec: ProcessingSpec | None,
    deployments: Sequence[DeploymentState | None],
    plan: Plan | None,
    now: datetime,
) -> None:
    """The figures of one finished tick; `spec` is None when it was invalid (the tick still
    happened, so only its time is recorded)."""
    LAST_TICK.labels(namespace, name).set(now.timestamp())
    if spec is None:
        return
    CPU_USABLE.labels(namespace, name).set(usable_millicores(spec) / MILLICORES_PER_CORE)
    OFF_PEAK_OPEN.labels(namespace, name).set(int(in_off_peak(spec, now)))
    budgets = phase_budget_replicas(spec)
    for index, phase in enumerate(spec.phases):
        labels = (namespace, name, phase.name)
        deployment = deployments[index] if index < len(deployments) else None
        READY_REPLICAS.labels(*labels).set(deployment.ready_replicas if deployment else 0)
        BUDGET_REPLICAS.labels(*labels).set(budgets[index])
        CPU_BUDGET.labels(*labels).set(
            budgets[index] * phase.cpu_per_worker_millicores / MILLICORES_PER_CORE
        )
        current = None if plan is None else plan.phases[index].reason
        for reason in PlanReason:
            PLAN_REASON.labels(*labels, reason.value).set(int(reason is current))


def _forget_tick(namespace: str, name: str, phases: Sequence[str]) -> None:
    for gauge in _PER_PHASE_TICK:
        for phase in phases:
            with contextlib.suppress(KeyError):
                gauge.remove(namespace, name, phase)
    for phase in phases:
        for reason in PlanReason:
            with contextlib.suppress(KeyError):
                PLAN_REASON.remove(namespace, name, phase, reason.value)
    for resource_gauge in _PER_RESOURCE_TICK:
        with contextlib.suppress(KeyError):
            resource_gauge.remove(namespace, name)
