"""Predictive pre-scaling against the real Valkey: the reconciler's tick scales a phase
up before its first crossing when prediction is on, and returns are learned from the
activity index between ticks."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import redis

from eros.core.activity import ACTIVITY_KEY
from eros.core.keys import return_model_key
from eros.operator.forecast import ReturnModel, bucket_of
from eros.operator.forecast_source import CrossingForecaster
from eros.operator.reconciler import Reconciler
from tests.operator.fake_kube import NOW, OWNER, FakeKube, deployments_of

NOW_MS = int(NOW.timestamp() * 1000)


def seed_idle_seconds(client: redis.Redis, ages: list[float]) -> list[bytes]:
    client.delete(ACTIVITY_KEY)
    members = {uuid.uuid4().bytes: NOW_MS - int(age * 1000) for age in ages}
    client.zadd(ACTIVITY_KEY, members)
    return list(members)


def first_tick(redis_url: str, spec: dict[str, Any]) -> tuple[int, ...]:
    kube = FakeKube(redis_url)
    status = Reconciler(kube, OWNER).tick(spec, 1, {}, deployments_of(spec), NOW).status
    return tuple(p["desiredReplicas"] for p in status["phases"])


def test_a_phase_is_scaled_up_before_its_first_crossing_unless_prediction_is_off(
    redis_url: str, redis_client: redis.Redis
) -> None:
    # Two users 590 s idle cross phase 1's 10 minutes in 10 s: within 15 s + one tick;
    # one worker is up for them (one tick's share of the crossings, at least one).
    seed_idle_seconds(redis_client, [590.0, 590.0, 5.0])

    assert first_tick(redis_url, {}) == (1, 0, 0)
    assert first_tick(redis_url, {"predictive": {"enabled": False}}) == (0, 0, 0)
    assert first_tick(redis_url, {"predictive": {"enabled": True, "horizonSeconds": 5}}) == (
        0,
        0,
        0,
    )


def test_users_who_came_back_between_ticks_are_learned_and_stored(
    redis_client: redis.Redis,
) -> None:
    members = seed_idle_seconds(redis_client, [700.0] * 5 + [20.0])
    forecaster = CrossingForecaster("dating/learning")
    redis_client.delete(return_model_key("dating/learning"))
    forecaster.learn(redis_client, NOW_MS, hour=12)
    later = NOW_MS + 5000
    redis_client.zadd(ACTIVITY_KEY, {m: later for m in members[:2]}, gt=True)  # two return

    model = forecaster.learn(redis_client, later, hour=12)

    learned = model.returns[12][bucket_of(700.0)]
    assert learned == 2
    stored = json.loads(redis_client.get(return_model_key("dating/learning")) or "{}")
    assert ReturnModel.from_json(stored) == model
    assert sum(model.returns[11]) == 0
    # The user active 20 s ago did not come back: no return in their bucket.
    assert model.returns[12][bucket_of(20.0)] == 0
    assert timedelta(milliseconds=later - NOW_MS).total_seconds() == 5
