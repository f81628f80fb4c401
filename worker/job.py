"""The job function RQ runs: one phase of work for one user, given by ids only.

The scheduler enqueues `run_phase_job(user_id, phase, idle_since_ms)` by name; a work horse
of `eros worker --phase N` runs it, in one event loop from start to end (`run_in_loop`). It
refuses to start if the user came back since the job was dequeued, runs the work
registered for the phase, and on completion drops the phase's checkpoint and the job's
entry in the halting index. RQ itself, around the job, stays synchronous.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from rq import get_current_job

from eros.core.phases import Phase
from eros.core.redis_client import async_redis
from eros.core.settings import Settings, get_settings
from eros.pipeline.queue import JobKey
from eros.worker.context import RunContext
from eros.worker.work import REGISTRY

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class HorseRuntime:
    """What the work horse knows that the job function cannot get from RQ."""

    settings: Settings
    # (started-registry key, member) of this execution: how a job learns it was superseded.
    execution: tuple[str, str] | None
    parent_pid: int | None


class _Current:
    runtime: HorseRuntime | None = None


_current = _Current()


def set_runtime(runtime: HorseRuntime | None) -> None:
    """Called by the work horse before it runs a job."""
    _current.runtime = runtime


def current_runtime() -> HorseRuntime:
    """What the work horse set for the running job; outside a horse, the settings only."""
    return _current.runtime or HorseRuntime(get_settings(), None, None)


def run_in_loop(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run`, except that closing the loop does not wait for the threads of
    `asyncio.to_thread` calls: a halted job abandons them, and its horse exits anyway."""
    loop = asyncio.new_event_loop()
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(main)
    finally:
        try:
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def run_phase_job(user_id: str, phase: int, idle_since_ms: int) -> dict[str, Any]:
    if get_current_job() is None:
        raise RuntimeError("run_phase_job runs inside an RQ worker")
    runtime = current_runtime()
    key = JobKey(UUID(user_id), Phase(phase), idle_since_ms)
    return run_in_loop(run_job(key, runtime))


async def run_job(key: JobKey, runtime: HorseRuntime) -> dict[str, Any]:
    """The whole job, in the job's loop; its Redis client is the project's asyncio one."""
    settings = runtime.settings
    if not settings.redis_url:
        raise RuntimeError("EROS_REDIS_URL is not set")
    client = async_redis(str(settings.redis_url))
    try:
        ctx = RunContext(
            key=key,
            redis=client,
            settings=settings,
            execution=runtime.execution,
            parent_pid=runtime.parent_pid,
        )
        await ctx.guard_start()
        work = REGISTRY.get(ctx.phase)
        if work is None:
            await ctx.complete()
            return {
                "outcome": "no-work",
                "message": f"No work is registered for phase {int(key.phase)}; nothing was done.",
            }
        result = await ctx.run(work)
        await ctx.complete()
    finally:
        await client.aclose()
    return {
        "outcome": "completed",
        "resumedFrom": ctx.resumed_from,
        "result": dict(result) if result else {},
    }
