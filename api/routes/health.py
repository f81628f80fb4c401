"""Liveness, readiness and the detailed health view."""

from __future__ import annotations

import asyncio
import platform
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from eros.api.deps import AdminUser, ClockDep, DbDep, PhaseConfigDep, RedisDep, SettingsDep
from eros.api.errors import ERROR_RESPONSES
from eros.api.schemas.health import (
    DependencyCheck,
    DetailedHealth,
    Liveness,
    PoolStats,
    Readiness,
)
from eros.core import __version__
from eros.core.activity import acount_users_per_phase

# A readiness probe must answer before the kubelet's own timeout (1 s by default).
CHECK_TIMEOUT_SECONDS = 0.8

probe_router = APIRouter(tags=["health"])
router = APIRouter(prefix="/health", tags=["health"], responses=ERROR_RESPONSES)


@probe_router.get("/health", response_model=Liveness)
async def liveness() -> Liveness:
    """The process is serving; touches nothing else, so a Redis outage never restarts pods."""
    return Liveness()


async def _check(probe: Callable[[], Awaitable[Any]]) -> DependencyCheck:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(probe(), CHECK_TIMEOUT_SECONDS)
    except Exception as exc:
        return DependencyCheck(ok=False, error=type(exc).__name__)
    return DependencyCheck(ok=True, latency_ms=round((time.perf_counter() - started) * 1000, 2))


async def _readiness(redis: RedisDep, db: DbDep) -> Readiness:
    async def ping_db() -> None:
        async with db.connection() as conn:
            await conn.execute("SELECT 1")

    redis_check, db_check = await asyncio.gather(_check(redis.ping), _check(ping_db))
    ok = redis_check.ok and db_check.ok
    return Readiness(status="ok" if ok else "unavailable", redis=redis_check, database=db_check)


@router.get(
    "",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Redis or PostgreSQL is unreachable."}},
)
async def readiness(redis: RedisDep, db: DbDep) -> Readiness | JSONResponse:
    result = await _readiness(redis, db)
    if result.status != "ok":
        return JSONResponse(result.model_dump(by_alias=True), status_code=503)
    return result


@router.get("/detailed", response_model=DetailedHealth)
async def detailed(
    _: AdminUser,
    redis: RedisDep,
    db: DbDep,
    settings: SettingsDep,
    config: PhaseConfigDep,
    clock: ClockDep,
) -> DetailedHealth:
    base = await _readiness(redis, db)
    redis_version = postgres_version = None
    users_per_phase: list[int] = []
    if base.redis.ok:
        info = await redis.info("server")
        redis_version = str(info.get("valkey_version") or info.get("redis_version"))
        users_per_phase = await acount_users_per_phase(redis, config.idle_seconds, clock.now_ms())
    if base.database.ok:
        async with db.connection() as conn:
            row = await (await conn.execute("SHOW server_version")).fetchone()
            postgres_version = str(row["server_version"]) if row else None
    stats = db.get_stats()
    return DetailedHealth(
        **base.model_dump(),
        version=__version__,
        python_version=platform.python_version(),
        redis_version=redis_version,
        postgres_version=postgres_version,
        environment=settings.environment.value,
        pool=PoolStats(
            size=stats.get("pool_size", 0),
            available=stats.get("pool_available", 0),
            waiting=stats.get("requests_waiting", 0),
            max_size=settings.db_pool_max_size,
        ),
        users_per_phase=users_per_phase,
    )
