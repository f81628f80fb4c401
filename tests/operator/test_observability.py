"""The running operator's Prometheus metrics and liveness endpoint."""

from __future__ import annotations

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from eros.operator.runtime import OperatorOptions
from tests.conftest import free_port
from tests.operator.helpers import (
    NAME,
    NAMESPACE,
    enqueue_jobs,
    eventually,
    processing,
    seed_idle_users,
)
from tests.operator.kube_mock import EROSPROCESSINGS, Cluster

pytestmark = pytest.mark.asyncio

METRICS_PORT = free_port()
LIVENESS_PORT = free_port()


@pytest.fixture
def operator_options() -> OperatorOptions:
    return OperatorOptions(
        namespaces=(NAMESPACE,),
        standalone=True,
        liveness_port=LIVENESS_PORT,
        metrics_port=METRICS_PORT,
    )


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, str], float]:
    response = await client.get(f"http://127.0.0.1:{METRICS_PORT}/metrics")
    response.raise_for_status()
    return {
        (sample.name, sample.labels.get("phase", "")): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        # This resource's only: the process registry also holds resources other tests ticked.
        if sample.labels.get("name") == NAME and sample.labels.get("namespace") == NAMESPACE
    }


async def test_the_operator_exports_its_plan_and_reconcile_figures(
    operator: Cluster, redis_client: redis.Redis
) -> None:
    seed_idle_users(redis_client, [3, 0, 2])
    enqueue_jobs(redis_client, "eros-phase-3", 2)
    await operator.create(EROSPROCESSINGS, processing({"tickSeconds": 1}))
    async with httpx.AsyncClient() as client:

        async def planned() -> dict[tuple[str, str], float] | None:
            samples = await scrape(client)
            ticked = ("eros_operator_reconcile_duration_seconds_count", "") in samples
            desired = samples.get(("eros_operator_desired_replicas", "phase-3"))
            return samples if ticked and desired else None

        samples = await eventually(planned)

    assert samples[("eros_operator_idle_users", "phase-1")] == 3
    assert samples[("eros_operator_idle_users", "phase-3")] == 2
    assert samples[("eros_operator_queued_jobs", "phase-3")] == 2
    assert samples[("eros_operator_desired_replicas", "phase-3")] == 2
    assert samples[("eros_operator_cpu_allocated_cores", "phase-3")] == 2.0
    assert samples[("eros_operator_reconcile_duration_seconds_count", "")] >= 1


async def test_the_liveness_endpoint_reports_the_ticks(
    operator: Cluster, redis_client: redis.Redis
) -> None:
    seed_idle_users(redis_client, [0, 0, 1])
    await operator.create(EROSPROCESSINGS, processing({"tickSeconds": 1}))
    await eventually(lambda: operator.status().get("phases"))
    async with httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{LIVENESS_PORT}/healthz")
    assert response.status_code == 200
    assert f"{NAMESPACE}/{NAME}" in response.json()["ticks"]
