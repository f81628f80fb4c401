"""Each process exports only its own series: the API's /metrics never shows the
scheduler's or the workers', so an alert on an absent scheduler can fire."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from fastapi.testclient import TestClient
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from eros.api.metrics import REGISTRY as API_REGISTRY
from eros.core.clock import ManualClock
from eros.core.phases import Phase
from eros.operator.prometheus import REGISTRY as OPERATOR_REGISTRY
from eros.pipeline.metrics import SCHEDULER_REGISTRY, WORKER_REGISTRY
from eros.pipeline.queue import JobKey
from tests.conftest import Account

PIPELINE_PREFIXES = ("eros_scheduler_", "eros_jobs_", "eros_job_", "eros_queue_")
API_PREFIXES = ("eros_http_", "eros_heartbeats", "eros_users_", "eros_api_")
# Claude calls happen in the API (assistant) and in the workers (analysis).
SHARED_PREFIXES = ("eros_llm_",)
BEAT = {"appActive": True, "screenOn": True}


def _names(text: str) -> set[str]:
    return {family.name for family in text_string_to_metric_families(text)}


def _eros(names: set[str]) -> set[str]:
    return {name for name in names if name.startswith("eros_")}


def _halts_requested(text: str) -> float:
    """The API's count of phase-1 queued jobs it halted (other tests count into it too)."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "eros_api_halts_requested_total" and sample.labels == {
                "phase": "1",
                "state": "queued",
            }:
                return sample.value
    return 0.0


def test_the_apis_metrics_hold_no_scheduler_or_worker_series(
    client: TestClient,
    make_account: Callable[..., Account],
    enqueue: Callable[..., JobKey],
    clock: ManualClock,
) -> None:
    # A heartbeat that halts a queued job: the API counts it, in a series of its own.
    before = _halts_requested(client.get("/metrics").text)
    account = make_account()
    assert client.post("/api/v1/heartbeat", json=BEAT, headers=account.headers).status_code == 200
    enqueue(Phase.LIGHT, user_id=UUID(account.id), idle_since_ms=clock.now_ms())
    clock.advance(seconds=3600)
    response = client.post("/api/v1/heartbeat", json=BEAT, headers=account.headers)
    assert response.json()["haltedJobs"] == 1

    text = client.get("/metrics").text
    names = _names(text)
    assert not {name for name in names if name.startswith(PIPELINE_PREFIXES)}
    assert "eros_scheduler_leader" not in text
    assert _halts_requested(text) == before + 1
    assert "eros_api_halt_latency_seconds" in names
    assert "process_cpu_seconds" in names, "the process's own figures stay"


def test_the_schedulers_registry_holds_no_http_or_worker_series() -> None:
    names = _eros(_names(generate_latest(SCHEDULER_REGISTRY).decode()))
    assert "eros_scheduler_leader" in names and "eros_jobs_enqueued" in names
    assert not {name for name in names if name.startswith(API_PREFIXES)}
    assert not names & {"eros_jobs_started", "eros_jobs_completed", "eros_job_duration_seconds"}


def test_a_workers_registry_holds_no_http_or_scheduler_series() -> None:
    names = _eros(_names(generate_latest(WORKER_REGISTRY).decode()))
    assert "eros_jobs_started" in names and "eros_job_duration_seconds" in names
    assert not {name for name in names if name.startswith((*API_PREFIXES, "eros_scheduler_"))}
    assert "eros_jobs_enqueued" not in names


def test_the_apis_registry_holds_only_api_series() -> None:
    names = _eros(_names(generate_latest(API_REGISTRY).decode()))
    assert names and all(name.startswith((*API_PREFIXES, *SHARED_PREFIXES)) for name in names), (
        names
    )


def test_the_operators_registry_holds_only_operator_series() -> None:
    names = _eros(_names(generate_latest(OPERATOR_REGISTRY).decode()))
    assert all(name.startswith("eros_operator_") for name in names), names
