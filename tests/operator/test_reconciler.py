"""One tick of the reconciler: what it asks of Kubernetes and what it reports.

Kubernetes is faked at its edge (the `Kube` calls); Redis is the real embedded server.
The same paths run against a real API server in `test_operator_on_server.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis

from eros.core.keys import PHASE_CONFIG_KEY
from eros.core.phase_config import decode
from eros.operator.kube import SecretForbidden, SecretUnavailable
from eros.operator.reconciler import Reconciler
from eros.operator.spec import DEFAULT_PHASES
from eros.operator.status import DeploymentState
from tests.operator.fake_kube import NOW, OWNER, FakeKube, deployments_of
from tests.operator.helpers import seed_idle_users


@dataclass
class Events:
    posted: list[tuple[str, str, str]] = field(default_factory=list)

    def __call__(self, kind: str, reason: str, message: str) -> None:
        self.posted.append((kind, reason, message))

    def reasons(self) -> list[str]:
        return [reason for _, reason, _ in self.posted]


@pytest.fixture
def kube(redis_url: str, redis_client: redis.Redis) -> FakeKube:
    seed_idle_users(redis_client, [0, 0, 0])
    return FakeKube(redis_url)


def conditions(status: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in status["conditions"]}


def tick(
    kube: FakeKube,
    raw_spec: Mapping[str, Any],
    deployments: list[DeploymentState | None],
    events: Events | None = None,
) -> Any:
    reconciler = Reconciler(kube, OWNER, events or Events())
    return reconciler.tick(raw_spec, 1, {}, deployments, NOW)


def test_a_secret_the_operator_may_not_read_degrades_the_resource_and_says_how_to_fix_it(
    kube: FakeKube,
) -> None:
    kube.secret_error = SecretForbidden("The operator may not get Secret dating/eros-redis.")
    events = Events()
    outcome = tick(kube, {}, list(deployments_of({})), events)

    degraded = conditions(outcome.status)["Degraded"]
    assert (degraded["status"], degraded["reason"]) == ("True", "SecretForbidden")
    assert "dating/eros-redis" in degraded["message"]
    assert events.posted[0][:2] == ("Warning", "SecretForbidden")
    assert outcome.problem.reason == "SecretForbidden"
    assert kube.scaled == []


def test_a_new_reason_for_degradation_posts_a_new_event(kube: FakeKube) -> None:
    events = Events()
    reconciler = Reconciler(kube, OWNER, events)
    running = list(deployments_of({}))
    kube.secret_error = SecretUnavailable("Secret dating/eros-redis does not exist.")
    reconciler.tick({}, 1, {}, running, NOW)
    reconciler.tick({}, 1, {}, running, NOW)
    kube.secret_error = SecretForbidden("The operator may not get Secret dating/eros-redis.")
    reconciler.tick({}, 1, {}, running, NOW)
    kube.secret_error = None
    outcome = reconciler.tick({}, 1, {}, running, NOW)

    degradation = [r for r in events.reasons() if r != "ConfigPublished"]
    assert degradation == ["SecretUnavailable", "SecretForbidden", "MetricsAvailable"]
    assert outcome.problem is None


def test_a_paused_resource_with_an_edit_pending_is_not_ready_and_is_not_patched(
    kube: FakeKube,
) -> None:
    edited = [{**DEFAULT_PHASES[0], "cpuPerWorker": "200m"}, *DEFAULT_PHASES[1:]]
    outcome = tick(kube, {"paused": True, "phases": edited}, list(deployments_of({}, 1)))

    ready = conditions(outcome.status)["Ready"]
    assert (ready["status"], ready["reason"]) == ("False", "ChangesPending")
    assert "phase-1" in ready["message"] and "phase-2" not in ready["message"]
    assert kube.ensured == [] and kube.scaled == []
    # The CPU that runs is the old template's, 100m per replica.
    assert outcome.status["phases"][0]["cpuAllocated"] == "100m"


def test_a_paused_resource_whose_deployments_match_is_ready(kube: FakeKube) -> None:
    outcome = tick(kube, {"paused": True}, list(deployments_of({}, 1)))
    found = conditions(outcome.status)
    assert (found["Ready"]["status"], found["Paused"]["status"]) == ("True", "True")


def test_a_deployment_from_an_older_spec_is_patched_on_the_next_tick(kube: FakeKube) -> None:
    edited = [{**DEFAULT_PHASES[0], "cpuPerWorker": "200m"}, *DEFAULT_PHASES[1:]]
    outcome = tick(kube, {"phases": edited}, list(deployments_of({})))

    assert kube.ensured == ["eros-phase-1"]
    assert conditions(outcome.status)["Ready"]["status"] == "True"


def test_an_invalid_spec_reports_the_workers_that_still_run(kube: FakeKube) -> None:
    outcome = tick(kube, {"phases": [DEFAULT_PHASES[0]]}, list(deployments_of({}, 2)))

    found = conditions(outcome.status)
    assert (found["Ready"]["status"], found["Ready"]["reason"]) == ("False", "InvalidSpec")
    assert (found["Active"]["status"], found["Active"]["reason"]) == ("True", "WorkersRunning")
    assert outcome.status["replicas"] == 6
    assert outcome.problem.reason == "InvalidSpec"
    assert kube.ensured == [] and kube.scaled == []


def test_the_phase_configuration_is_published_once_per_change_with_the_generation(
    kube: FakeKube, redis_client: redis.Redis
) -> None:
    redis_client.delete(PHASE_CONFIG_KEY)
    events = Events()
    reconciler = Reconciler(kube, OWNER, events)
    running = list(deployments_of({}))
    edited = [DEFAULT_PHASES[0], {**DEFAULT_PHASES[1], "queue": "medium"}, DEFAULT_PHASES[2]]
    reconciler.tick({}, 1, {}, running, NOW)
    reconciler.tick({}, 1, {}, running, NOW)
    reconciler.tick({"phases": edited}, 2, {}, running, NOW)

    assert events.reasons().count("ConfigPublished") == 2
    published = decode(redis_client.get(PHASE_CONFIG_KEY))
    assert (published.source, published.generation) == ("dating/eros", 2)
    assert published.queues == ("eros-phase-1", "medium", "eros-phase-3")

    reconciler.retire()
    assert redis_client.get(PHASE_CONFIG_KEY) is None


def test_an_invalid_spec_publishes_nothing(kube: FakeKube, redis_client: redis.Redis) -> None:
    redis_client.delete(PHASE_CONFIG_KEY)
    tick(kube, {"phases": [DEFAULT_PHASES[0]]}, list(deployments_of({})))
    assert redis_client.get(PHASE_CONFIG_KEY) is None
