"""A job's Claude calls go from its work horse to its worker through Redis, once."""

from __future__ import annotations

import redis

from eros.core.keys import llm_calls_key
from eros.core.llm.metrics import LlmCall
from eros.pipeline.llm_calls import LLM_CALLS_TTL_SECONDS, ship_calls, take_calls

JOB_ID = "llm-calls-test"


def test_shipped_calls_are_taken_once_and_expire_if_never_taken(
    redis_client: redis.Redis,
) -> None:
    shipped = [LlmCall("analysis", "ok", 2.0, 120, 40)]

    ship_calls(redis_client, JOB_ID, shipped)

    assert 0 < redis_client.ttl(llm_calls_key(JOB_ID)) <= LLM_CALLS_TTL_SECONDS
    assert take_calls(redis_client, JOB_ID) == shipped
    assert take_calls(redis_client, JOB_ID) == []


def test_a_job_without_calls_writes_nothing(redis_client: redis.Redis) -> None:
    ship_calls(redis_client, JOB_ID, [])

    assert not redis_client.exists(llm_calls_key(JOB_ID))
