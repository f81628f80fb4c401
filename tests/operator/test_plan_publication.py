"""The operator publishes its last plan to Redis for the console, every tick."""

from __future__ import annotations

import redis

from eros.core.keys import OPERATOR_PLAN_KEY
from eros.operator.reconciler import Reconciler
from eros.operator.spec import DEFAULT_PHASES
from eros.pipeline.operator_plan import parse_plan
from tests.operator.fake_kube import NOW, OWNER, FakeKube, deployments_of
from tests.operator.helpers import enqueue_jobs, seed_idle_users


def test_each_tick_publishes_the_plan_with_its_reasons_budgets_and_generation(
    redis_url: str, redis_client: redis.Redis
) -> None:
    redis_client.delete(OPERATOR_PLAN_KEY)
    seed_idle_users(redis_client, [4, 0, 0])
    enqueue_jobs(redis_client, "eros-phase-1", 4)
    reconciler = Reconciler(FakeKube(redis_url), OWNER)

    status = reconciler.tick({}, 7, {}, list(deployments_of({})), NOW).status

    plan = parse_plan(redis_client.get(OPERATOR_PLAN_KEY))
    assert plan is not None
    assert (plan.source, plan.generation, plan.degraded) == ("dating/eros", 7, None)
    assert plan.at_ms == int(NOW.timestamp() * 1000)
    assert [p.desired for p in plan.phases] == [p["desiredReplicas"] for p in status["phases"]]
    # Four jobs want more workers than phase 1's budget holds: the plan says so.
    assert plan.phases[0].desired == plan.phases[0].budget > 0
    assert plan.phases[0].reason == "PhaseBudgetLimited"
    assert [p.reason for p in plan.phases[1:]] == ["NoIdleUsers", "NoIdleUsers"]
    assert [p.budget for p in plan.phases] == [p["budgetReplicas"] for p in status["phases"]]
    assert plan.usable_millicores < plan.cpu_pool_millicores
    reconciler.close()


def test_an_invalid_spec_publishes_no_plan(redis_url: str, redis_client: redis.Redis) -> None:
    redis_client.delete(OPERATOR_PLAN_KEY)
    reconciler = Reconciler(FakeKube(redis_url), OWNER)
    reconciler.tick({"phases": [DEFAULT_PHASES[0]]}, 1, {}, list(deployments_of({})), NOW)
    assert redis_client.get(OPERATOR_PLAN_KEY) is None
    reconciler.close()
