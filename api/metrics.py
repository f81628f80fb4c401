"""Prometheus metrics of the API process, in a registry of its own.

`/metrics` serves `REGISTRY` only: the API imports the job pipeline (for its halter), but
none of the pipeline's series, so an absent scheduler or worker shows as absent series.
The halts the API's heartbeats request are counted here, in series of the API's own.
"""

from __future__ import annotations

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
)

from eros.core.llm.metrics import LLM_SERIES
from eros.pipeline.halt import HaltMetrics
from eros.pipeline.metrics import HALT_BUCKETS_SECONDS

# Buckets fit an API whose endpoints aim at single-digit milliseconds.
LATENCY_BUCKETS_SECONDS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
)

REGISTRY = CollectorRegistry(auto_describe=True)
# The process's CPU, memory and GC figures, as prometheus_client's default registry has them.
# The assistant's Claude calls (eros.core.llm.metrics) too.
for _collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR, *LLM_SERIES):
    REGISTRY.register(_collector)

REQUESTS = Counter(
    "eros_http_requests_total",
    "HTTP requests served, by method, route template and status code.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
REQUEST_LATENCY = Histogram(
    "eros_http_request_duration_seconds",
    "Time to serve an HTTP request, by method and route template.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS_SECONDS,
    registry=REGISTRY,
)
HEARTBEATS = Counter(
    "eros_heartbeats_total",
    "Heartbeats received, by whether the app was in the foreground.",
    ["active"],
    registry=REGISTRY,
)
USERS_PER_PHASE = Gauge(
    "eros_users_per_phase",
    "Tracked users in each idle phase (0 = active), sampled at scrape time.",
    ["phase"],
    registry=REGISTRY,
)
HALTS_REQUESTED = Counter(
    "eros_api_halts_requested_total",
    "Jobs the API's heartbeats halted, by phase and the state they were in: queued "
    "(removed from their queue) or running (stop requested from their worker).",
    ["phase", "state"],
    registry=REGISTRY,
)
HALT_LATENCY = Histogram(
    "eros_api_halt_latency_seconds",
    "From the heartbeat's arrival to the queued job removed from its queue (a running "
    "job's latency is its worker's eros_job_halt_latency_seconds).",
    ["phase", "state"],
    buckets=HALT_BUCKETS_SECONDS,
    registry=REGISTRY,
)

HALT_METRICS = HaltMetrics(HALTS_REQUESTED, HALT_LATENCY)

DEPENDENCY_UP = Gauge(
    "eros_api_dependency_up",
    "1 if the dependency (redis, postgresql) answered the API's last readiness check, 0 if "
    "not; refreshed by every readiness probe, so at the kubelet's probe period.",
    ["dependency"],
    registry=REGISTRY,
)
