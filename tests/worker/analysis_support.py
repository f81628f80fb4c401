"""Constructed histories for the phase jobs' tests: profiles through the API, events
straight into PostgreSQL, and jobs run in-process, each in one event loop, through the
pipeline's `RunContext`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from uuid import UUID

import psycopg
import redis
from fastapi.testclient import TestClient

from eros.core.clock import ManualClock, utc_from_ms
from eros.core.keys import ACTIVITY_KEY
from eros.core.phases import Phase
from eros.core.redis_client import async_redis
from eros.core.settings import Settings
from eros.pipeline.queue import JobKey
from eros.worker.context import RunContext
from eros.worker.job import run_in_loop
from eros.worker.work import PhaseWork
from tests.api.profile_support import man, profile_body, put_profile, quick_accounts
from tests.conftest import Account

HIKER = {"hiking": 95, "reading": 20}
GAMER = {"gaming": 90, "reading": 30}


def people(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock, hikers: int, gamers: int
) -> tuple[Account, list[Account], list[Account]]:
    """A woman who sees men, and `hikers` + `gamers` men who see her."""
    accounts = quick_accounts(db, clock, 1 + hikers + gamers)
    viewer, rest = accounts[0], accounts[1:]
    put_profile(client, viewer, profile_body())
    for i, account in enumerate(rest):
        interests = HIKER if i < hikers else GAMER
        put_profile(client, account, man(displayName=f"M{i}", interests=interests))
    return viewer, rest[:hikers], rest[hikers:]


def act(
    db: psycopg.Connection[Any], actor: Account, target: Account, kind: str, at_ms: int
) -> None:
    db.execute(
        "INSERT INTO interactions (actor_id, target_id, kind, occurred_at, source) "
        "VALUES (%s, %s, %s, %s, 'batch')",
        (actor.id, target.id, kind, utc_from_ms(at_ms)),
    )


def earlier(clock: ManualClock, minutes: int) -> int:
    return clock.now_ms() - int(timedelta(minutes=minutes).total_seconds() * 1000)


def run_phase(
    work: PhaseWork,
    redis_client: redis.Redis,
    settings: Settings,
    user: Account,
    phase: Phase,
    idle_since_ms: int,
    ctx_class: type[RunContext] = RunContext,
) -> Mapping[str, Any] | None:
    """One job of `work`, in one event loop, as a work horse runs it (minus RQ)."""
    key = JobKey(UUID(user.id), phase, idle_since_ms)
    redis_client.zadd(ACTIVITY_KEY, {key.user_id.bytes: idle_since_ms})

    async def job() -> Mapping[str, Any] | None:
        async with async_redis(str(settings.redis_url)) as client:
            ctx = ctx_class(key=key, redis=client, settings=settings)
            result = await ctx.run(work)
            await ctx.complete()
            return result

    return run_in_loop(job())
