"""Reading idle users and jobs per phase from the real Redis."""

from __future__ import annotations

import pytest
import redis

from eros.operator.metrics_source import MetricsUnavailable, RedisMetricsSource, redact_url
from eros.operator.planner import PhaseMetrics
from eros.operator.spec import parse_spec
from tests.conftest import free_port
from tests.operator.helpers import enqueue_jobs, now_ms, seed_idle_users, start_jobs

SPEC = parse_spec({})


def test_idle_users_queued_and_running_jobs_are_read_per_phase(
    redis_client: redis.Redis, redis_url: str
) -> None:
    seed_idle_users(redis_client, [4, 2, 1], active=7)
    enqueue_jobs(redis_client, "eros-phase-1", 3)
    start_jobs(redis_client, "eros-phase-1", 1)
    start_jobs(redis_client, "eros-phase-3", 2)
    source = RedisMetricsSource(redis_url)
    try:
        figures = source.read(SPEC.phases, now_ms())
    finally:
        source.close()

    assert figures == [
        PhaseMetrics(idle_users=4, queued_jobs=3, running_jobs=1),
        PhaseMetrics(idle_users=2, queued_jobs=0, running_jobs=0),
        PhaseMetrics(idle_users=1, queued_jobs=0, running_jobs=2),
    ]


def test_the_phases_follow_the_thresholds_of_the_resource(
    redis_client: redis.Redis, redis_url: str
) -> None:
    seed_idle_users(redis_client, [4, 2, 1])  # idle 15 min, 45 min, 2 h
    phases = [
        {"name": f"p{n}", "idleAfter": after, "cpuBudgetPercent": 10, "queue": f"q{n}"}
        for n, after in ((1, "20m"), (2, "1h"), (3, "3h"))
    ]
    source = RedisMetricsSource(redis_url)
    try:
        figures = source.read(parse_spec({"phases": phases}).phases, now_ms())
    finally:
        source.close()
    assert [f.idle_users for f in figures] == [2, 1, 0]


def test_an_unreachable_redis_is_reported_without_its_password() -> None:
    source = RedisMetricsSource(f"redis://user:hunter2@127.0.0.1:{free_port()}/0")
    try:
        with pytest.raises(MetricsUnavailable) as raised:
            source.read(SPEC.phases, now_ms())
    finally:
        source.close()
    assert "hunter2" not in str(raised.value)
    assert "user:***@127.0.0.1" in str(raised.value)


def test_urls_areredact_urled_for_logs() -> None:
    assert redact_url("redis://:secret@host:6379/0") == "redis://***@host:6379/0"
    assert redact_url("rediss://host:6380") == "rediss://host:6380"
