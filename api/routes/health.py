"""Liveness, readiness and the detailed health view."""

from __future__ import annotations

import asyncio
import platform
import resource
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from eros.api.deps import AdminUser, ClockDep, DbDep, PhaseConfigDep, RedisDep, SettingsDep
from eros.api.errors import ERROR_RESPONSES
from eros.api.metrics import DEPENDENCY_UP
from eros.api.schemas.eros import SchedulerStatus
from eros.api.schemas.health import (
    CacheInfo,
    DependencyCheck,
    DetailedHealth,
    Liveness,
    PoolStats,
    ProcessMetrics,
    Readiness,
)
from eros.core import __version__
from eros.core.activity import acount_users_per_phase
from eros.core.database import ping
from eros.pipeline.status import read_status

# A readiness probe must answer before the kubelet's own timeout (1 s by default).
CHECK_TIMEOUT_SECONDS = 0.8
# ru_maxrss is in kibibytes on Linux.
BYTES_PER_RU_MAXRSS = 1024
# Imported once per process, as the app starts: the origin of `uptime`.
_STARTED = time.monotonic()

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
    redis_check, db_check = await asyncio.gather(_check(redis.ping), _check(lambda: ping(db)))
    DEPENDENCY_UP.labels("redis").set(int(redis_check.ok))
    DEPENDENCY_UP.labels("postgresql").set(int(db_check.ok))
    ok = redis_check.ok and db_check.ok
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return Readiness(
        status="ok" if ok else "unavailable",
        uptime=round(time.monotonic() - _STARTED, 3),
        redis=redis_check,
        database=db_check,
        metrics=ProcessMetrics(
            cpu_seconds=round(usage.ru_utime + usage.ru_stime, 3),
            max_rss_bytes=usage.ru_maxrss * BYTES_PER_RU_MAXRSS,
        ),
    )


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
    scheduler = None
    if base.redis.ok:
        info = await redis.info("server")
        redis_version = str(info.get("valkey_version") or info.get("redis_version"))
        users_per_phase = await acount_users_per_phase(redis, config.idle_seconds, clock.now_ms())
        status = await read_status(redis, config, clock.now_ms())
        scheduler = SchedulerStatus.from_view(status.scheduler)
    if base.database.ok:
        async with db.connection() as conn:
            row = await (await conn.execute("SHOW server_version")).fetchone()
            postgres_version = str(row["server_version"]) if row else None
    stats = db.get_stats()
    return DetailedHealth(
        **base.model_dump(exclude={"components"}),
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
        cache=CacheInfo(ok=base.redis.ok, version=redis_version),
        scheduler=scheduler,
    )
