"""The real kopf operator against a Kubernetes API mock (kmock) and the real Redis."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from rq import Queue

from eros.operator.manifests import ANNOTATION_TEMPLATE_HASH
from eros.operator.spec import DEFAULT_PHASES
from tests.conftest import RedisServer
from tests.operator.helpers import NAME, enqueue_jobs, eventually, processing, seed_idle_users
from tests.operator.kube_mock import DEPLOYMENTS, EROSPROCESSINGS, Cluster

pytestmark = pytest.mark.asyncio

FAST = {"tickSeconds": 1, "scaleDown": {"stabilizationWindowSeconds": 0}}
PHASE_DEPLOYMENTS = [f"{NAME}-phase-{n}" for n in (1, 2, 3)]


def container(cluster: Cluster, deployment: str) -> dict[str, Any]:
    found = cluster.get(DEPLOYMENTS, deployment)
    assert found is not None
    return dict(found["spec"]["template"]["spec"]["containers"][0])


async def test_creating_a_resource_creates_one_deployment_per_phase_sized_by_the_plan(
    operator: Cluster, redis_client: redis.Redis
) -> None:
    seed_idle_users(redis_client, [5, 2, 1])
    enqueue_jobs(redis_client, "eros-phase-1", 3)
    enqueue_jobs(redis_client, "eros-phase-3", 2)

    await operator.create(EROSPROCESSINGS, processing(FAST))

    # Phase 1: 3 jobs but a 5 % budget of 4 cores = 200m = 2 workers of 100m.
    # Phase 2: idle users, no jobs, minReplicas 0. Phase 3: 2 jobs, 2 workers of 1 core.
    await eventually(lambda: [operator.replicas(d) for d in PHASE_DEPLOYMENTS] == [2, 0, 2])
    phase_3 = container(operator, f"{NAME}-phase-3")
    assert phase_3["args"] == ["worker", "--phase", "3"]
    assert phase_3["resources"]["limits"]["cpu"] == "1"
    assert phase_3["resources"]["requests"]["cpu"] == "1"
    assert container(operator, f"{NAME}-phase-1")["resources"]["limits"]["cpu"] == "100m"
    deployment = operator.get(DEPLOYMENTS, f"{NAME}-phase-1")
    assert deployment is not None
    owner = deployment["metadata"]["ownerReferences"][0]
    assert owner["kind"] == "ErosProcessing"
    assert owner["controller"] is True
    assert deployment["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "eros-operator"
    status = await eventually(lambda: operator.status().get("phases") and operator.status())
    assert [p["idleUsers"] for p in status["phases"]] == [5, 2, 1]
    assert status["idleUsers"] == "5/2/1"
    assert status["phases"][0]["reason"] == "PhaseBudgetLimited"
    assert operator.condition("Ready")["status"] == "True"
    assert operator.condition("Active")["status"] == "True"
    assert ANNOTATION_TEMPLATE_HASH in deployment["metadata"]["annotations"]


async def test_a_metrics_change_in_redis_patches_the_replicas_and_posts_an_event(
    operator: Cluster, redis_client: redis.Redis
) -> None:
    seed_idle_users(redis_client, [0, 0, 3])
    enqueue_jobs(redis_client, "eros-phase-3", 1)
    await operator.create(EROSPROCESSINGS, processing(FAST))
    await eventually(lambda: operator.replicas(f"{NAME}-phase-3") == 1)

    enqueue_jobs(redis_client, "eros-phase-3", 2)

    await eventually(lambda: operator.replicas(f"{NAME}-phase-3") == 3)
    # Kopf posts Events in the background, so the Event may trail the patch a little.
    await eventually(
        lambda: any(
            e.get("reason") == "Scaled" and "from 1 to 3" in e.get("message", "")
            for e in operator.events()
        )
    )


async def test_idle_users_coming_back_scale_their_phase_to_zero(
    operator: Cluster, redis_client: redis.Redis
) -> None:
    seed_idle_users(redis_client, [0, 0, 2])
    enqueue_jobs(redis_client, "eros-phase-3", 2)
    await operator.create(EROSPROCESSINGS, processing(FAST))
    await eventually(lambda: operator.replicas(f"{NAME}-phase-3") == 2)

    seed_idle_users(redis_client, [0, 0, 0], active=2)
    Queue("eros-phase-3", connection=redis_client).empty()  # their jobs halted, as on a heartbeat

    await eventually(lambda: operator.replicas(f"{NAME}-phase-3") == 0)
    await eventually(lambda: operator.condition("Active")["status"] == "False")


async def test_an_edit_of_the_resource_reaches_the_deployments_without_a_restart(
    operator: Cluster, redis_client: redis.Redis
) -> None:
    seed_idle_users(redis_client, [0, 0, 4])
    enqueue_jobs(redis_client, "eros-phase-3", 4)
    await operator.create(EROSPROCESSINGS, processing(FAST))
    await eventually(lambda: operator.replicas(f"{NAME}-phase-3") == 3)  # 3.8 usable cores

    phases = [dict(p) for p in DEFAULT_PHASES]
    phases[2]["cpuPerWorker"] = "500m"
    await operator.patch(
        EROSPROCESSINGS,
        NAME,
        {
            "spec": {"phases": phases, "worker": {"image": "registry.example/eros:2"}},
        },
    )

    await eventually(
        lambda: container(operator, f"{NAME}-phase-3")["resources"]["limits"]["cpu"] == "500m"
    )
    assert container(operator, f"{NAME}-phase-3")["image"] == "registry.example/eros:2"
    await eventually(lambda: operator.replicas(f"{NAME}-phase-3") == 4)
    await eventually(lambda: operator.status().get("observedGeneration") == 2)


async def test_a_paused_resource_changes_nothing(
    operator: Cluster, redis_client: redis.Redis
) -> None:
    seed_idle_users(redis_client, [0, 0, 2])
    enqueue_jobs(redis_client, "eros-phase-3", 1)
    await operator.create(EROSPROCESSINGS, processing(FAST))
    await eventually(lambda: operator.replicas(f"{NAME}-phase-3") == 1)
    template = container(operator, f"{NAME}-phase-3")

    await operator.patch(
        EROSPROCESSINGS,
        NAME,
        {"spec": {"paused": True, "worker": {"image": "other"}}},
    )
    await eventually(lambda: operator.condition("Paused").get("status") == "True")
    enqueue_jobs(redis_client, "eros-phase-3", 2)
    seen = await eventually(lambda: operator.status()["phases"][2].get("queuedJobs") == 3)

    assert seen
    assert operator.replicas(f"{NAME}-phase-3") == 1
    assert container(operator, f"{NAME}-phase-3") == template

    await operator.patch(EROSPROCESSINGS, NAME, {"spec": {"paused": False}})
    await eventually(lambda: operator.replicas(f"{NAME}-phase-3") == 3)
    assert container(operator, f"{NAME}-phase-3")["image"] == "other"


async def test_redis_down_sets_degraded_and_keeps_the_replicas(
    operator: Cluster, redis_client: redis.Redis, redis_server: RedisServer
) -> None:
    seed_idle_users(redis_client, [0, 0, 2])
    enqueue_jobs(redis_client, "eros-phase-3", 2)
    await operator.create(EROSPROCESSINGS, processing(FAST))
    await eventually(lambda: operator.replicas(f"{NAME}-phase-3") == 2)

    redis_server.stop()
    try:
        degraded = await eventually(
            lambda: (
                operator.condition("Degraded").get("status") == "True"
                and operator.condition("Degraded")
            )
        )
        assert degraded["reason"] == "MetricsUnavailable"
        assert [operator.replicas(d) for d in PHASE_DEPLOYMENTS] == [0, 0, 2]
        assert operator.status()["phases"][2]["desiredReplicas"] == 2
        await eventually(
            lambda: any(e.get("reason") == "MetricsUnavailable" for e in operator.events())
        )
    finally:
        redis_server.start()

    await eventually(lambda: operator.condition("Degraded").get("status") == "False")


async def test_deleting_the_resource_deletes_its_deployments(
    operator: Cluster, redis_client: redis.Redis
) -> None:
    seed_idle_users(redis_client, [1, 1, 1])
    await operator.create(EROSPROCESSINGS, processing(FAST))
    await eventually(lambda: all(operator.exists(DEPLOYMENTS, d) for d in PHASE_DEPLOYMENTS))

    await operator.delete(EROSPROCESSINGS, NAME)

    await eventually(lambda: not any(operator.exists(DEPLOYMENTS, d) for d in PHASE_DEPLOYMENTS))
    await eventually(lambda: not operator.exists(EROSPROCESSINGS, NAME))


async def test_a_worker_deployment_deleted_by_hand_is_recreated(
    operator: Cluster, redis_client: redis.Redis
) -> None:
    seed_idle_users(redis_client, [0, 0, 1])
    enqueue_jobs(redis_client, "eros-phase-3", 1)
    await operator.create(EROSPROCESSINGS, processing(FAST))
    await eventually(lambda: operator.replicas(f"{NAME}-phase-3") == 1)

    await operator.delete(DEPLOYMENTS, f"{NAME}-phase-3")

    await eventually(lambda: operator.replicas(f"{NAME}-phase-3") == 1)


async def test_a_spec_the_operator_cannot_use_sets_ready_false_and_touches_nothing(
    operator: Cluster, redis_client: redis.Redis
) -> None:
    seed_idle_users(redis_client, [0, 0, 1])
    await operator.create(
        EROSPROCESSINGS, processing({**FAST, "priority": ["phase-3", "phase-2", "nope"]})
    )

    ready = await eventually(
        lambda: operator.condition("Ready").get("status") == "False" and operator.condition("Ready")
    )

    assert ready["reason"] == "InvalidSpec"
    assert "priority" in ready["message"]
    assert not any(operator.exists(DEPLOYMENTS, d) for d in PHASE_DEPLOYMENTS)


async def test_a_missing_redis_secret_sets_degraded_and_creates_idle_deployments(
    operator: Cluster, redis_client: redis.Redis
) -> None:
    await operator.create(
        EROSPROCESSINGS, processing({**FAST, "redis": {"secretRef": {"name": "nowhere"}}})
    )

    degraded = await eventually(
        lambda: (
            operator.condition("Degraded").get("status") == "True"
            and operator.condition("Degraded")
        )
    )
    assert degraded["reason"] == "SecretUnavailable"
    assert "nowhere" in degraded["message"]
    assert [operator.replicas(d) for d in PHASE_DEPLOYMENTS] == [0, 0, 0]


async def test_a_deployment_controlled_by_something_else_is_left_alone(
    operator: Cluster, redis_client: redis.Redis
) -> None:
    foreign = {
        "metadata": {
            "name": f"{NAME}-phase-3",
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "Other", "name": "x", "uid": "1", "controller": True}
            ],
        },
        "spec": {"replicas": 7, "selector": {"matchLabels": {"app": "other"}}},
    }
    await operator.create(DEPLOYMENTS, foreign)
    seed_idle_users(redis_client, [0, 0, 1])
    enqueue_jobs(redis_client, "eros-phase-3", 1)

    await operator.create(EROSPROCESSINGS, processing(FAST))

    ready = await eventually(
        lambda: operator.condition("Ready").get("status") == "False" and operator.condition("Ready")
    )
    assert ready["reason"] == "DeploymentConflict"
    assert operator.replicas(f"{NAME}-phase-3") == 7
    assert operator.exists(DEPLOYMENTS, f"{NAME}-phase-1")
