"""Two operator replicas: kopf peering lets only the highest-priority one act."""

from __future__ import annotations

import logging

import kmock
import pytest
import redis

from eros.operator.runtime import OperatorOptions
from tests.operator.helpers import (
    NAME,
    NAMESPACE,
    enqueue_jobs,
    eventually,
    processing,
    seed_idle_users,
)
from tests.operator.kube_mock import EROSPROCESSINGS, Cluster, running_operator

pytestmark = pytest.mark.asyncio

PEERINGS = "kopf.dev/v1/kopfpeerings"
PEERING = "eros"
# Generous: under load two operators, their peering keep-alives and a tick each take far
# longer than the helpers' default deadline, which only keeps a broken test from hanging.
PEERING_WAIT_SECONDS = 120.0


def replica(priority: int) -> OperatorOptions:
    return OperatorOptions(
        namespaces=(NAMESPACE,),
        peering_name=PEERING,
        priority=priority,
        liveness_port=0,
        metrics_port=0,
    )


async def test_the_standby_replica_waits_and_takes_over_when_the_active_one_stops(
    cluster: Cluster, redis_client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    cluster.api.resources[PEERINGS] = kmock.ResourceInfo(
        kind="KopfPeering", namespaced=True, verbs={"get", "list", "watch", "patch", "create"}
    )
    await cluster.create(PEERINGS, {"metadata": {"name": PEERING}, "status": {}})
    seed_idle_users(redis_client, [0, 0, 1])
    enqueue_jobs(redis_client, "eros-phase-3", 1)
    caplog.set_level(logging.INFO, logger="kopf")

    async with running_operator(replica(priority=10)):
        async with running_operator(replica(priority=20)):
            await eventually(
                lambda: len((cluster.get(PEERINGS, PEERING) or {}).get("status") or {}) == 2,
                within=PEERING_WAIT_SECONDS,
            )
            await eventually(
                lambda: "Pausing operations in favour of" in caplog.text,
                within=PEERING_WAIT_SECONDS,
            )
            await cluster.create(EROSPROCESSINGS, processing({"tickSeconds": 1}))
            await eventually(
                lambda: cluster.replicas(f"{NAME}-phase-3") == 1, within=PEERING_WAIT_SECONDS
            )

        # The active replica left the peering on its way out; the standby one resumes.
        await eventually(
            lambda: "Resuming operations after the pause" in caplog.text,
            within=PEERING_WAIT_SECONDS,
        )
        enqueue_jobs(redis_client, "eros-phase-3", 1)
        await eventually(
            lambda: cluster.replicas(f"{NAME}-phase-3") == 2, within=PEERING_WAIT_SECONDS
        )
