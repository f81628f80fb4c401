"""Helpers for the operator tests: activity, jobs and ErosProcessing resources."""

from __future__ import annotations

import asyncio
import inspect
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import redis
from rq import Queue
from rq.executions import Execution

from eros.core.activity import ACTIVITY_KEY

NAMESPACE = "eros-test"
NAME = "eros"
MINUTE_MS = 60_000
# Idle times well inside phases 1, 2 and 3 with the default thresholds (10m, 30m, 1h).
PHASE_IDLE_MS = (15 * MINUTE_MS, 45 * MINUTE_MS, 2 * 60 * MINUTE_MS)
WAIT_SECONDS = 15.0
POLL_SECONDS = 0.05


def now_ms() -> int:
    return int(time.time() * 1000)


def seed_idle_users(client: redis.Redis, per_phase: Sequence[int], active: int = 0) -> None:
    """Replace the activity index with `per_phase[i]` users idle in phase i + 1."""
    client.delete(ACTIVITY_KEY)
    now = now_ms()
    members: dict[bytes, int] = {uuid.uuid4().bytes: now for _ in range(active)}
    for idle_ms, count in zip(PHASE_IDLE_MS, per_phase, strict=True):
        members.update({uuid.uuid4().bytes: now - idle_ms for _ in range(count)})
    if members:
        client.zadd(ACTIVITY_KEY, members)


def enqueue_jobs(client: redis.Redis, queue: str, count: int) -> list[Any]:
    """Queue `count` jobs the way the scheduler does (the function is never run here)."""
    rq_queue = Queue(queue, connection=client)
    return [rq_queue.enqueue("builtins.len", "x") for _ in range(count)]


def start_jobs(client: redis.Redis, queue: str, count: int) -> None:
    """Mark `count` new jobs as running, the way a worker does when it picks one up."""
    rq_queue = Queue(queue, connection=client)
    for _ in range(count):
        job = rq_queue.create_job("builtins.len", args=("x",))
        job.save()
        with client.pipeline() as pipe:
            Execution.create(job, ttl=600, pipeline=pipe)
            pipe.execute()


def processing(spec: Mapping[str, Any] | None = None, *, name: str = NAME) -> dict[str, Any]:
    """An ErosProcessing resource as a user would apply it."""
    return {
        "apiVersion": "eros.dev/v1alpha1",
        "kind": "ErosProcessing",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": dict(spec or {}),
    }


async def eventually(check: Callable[[], Any], within: float = WAIT_SECONDS) -> Any:
    """Poll `check` (sync or async) until it returns something truthy; fail with its last value.

    A deadline only keeps a broken test from hanging; it asserts no speed.
    """
    deadline = asyncio.get_running_loop().time() + within
    last: Any = None
    while True:
        try:
            last = check()
            if inspect.isawaitable(last):
                last = await last
            if last:
                return last
        except (AssertionError, KeyError, LookupError, ValueError) as error:
            last = error
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {within} s; last: {last!r}")
        await asyncio.sleep(POLL_SECONDS)
