"""The Claude calls of a job, carried from its work horse to its worker.

A work horse is a fork whose counters die with it (`eros.core.llm.metrics`): before it
exits it ships its job's calls to a short-lived key, and the worker takes them (reads and
deletes, in one transaction) once the horse has exited, to count them in its series.
"""

from __future__ import annotations

import redis

from eros.core.keys import llm_calls_key
from eros.core.llm.metrics import LlmCall, decode_calls, encode_calls

__all__ = ["LLM_CALLS_TTL_SECONDS", "ship_calls", "take_calls"]

# Long enough for a worker to take them after its horse exits; short enough that a worker
# which died before it could leaves nothing behind for long.
LLM_CALLS_TTL_SECONDS = 3600


def ship_calls(connection: redis.Redis, job_id: str, calls: list[LlmCall]) -> None:
    if calls:
        connection.set(llm_calls_key(job_id), encode_calls(calls), ex=LLM_CALLS_TTL_SECONDS)


def take_calls(connection: redis.Redis, job_id: str) -> list[LlmCall]:
    with connection.pipeline() as pipe:
        pipe.get(llm_calls_key(job_id))
        pipe.delete(llm_calls_key(job_id))
        raw, _ = pipe.execute()
    return decode_calls(raw)
