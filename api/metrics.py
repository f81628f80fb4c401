"""Prometheus metrics of the API process."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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

REQUESTS = Counter(
    "eros_http_requests_total",
    "HTTP requests served, by method, route template and status code.",
    ["method", "route", "status"],
)
REQUEST_LATENCY = Histogram(
    "eros_http_request_duration_seconds",
    "Time to serve an HTTP request, by method and route template.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS_SECONDS,
)
HEARTBEATS = Counter(
    "eros_heartbeats_total",
    "Heartbeats received, by whether the app was in the foreground.",
    ["active"],
)
USERS_PER_PHASE = Gauge(
    "eros_users_per_phase",
    "Tracked users in each idle phase (0 = active), sampled at scrape time.",
    ["phase"],
)
