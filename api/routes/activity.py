"""Activity state: one's own, and (admins) how many users are in each phase."""

from __future__ import annotations

from fastapi import APIRouter

from eros.api.deps import AdminUser, ClockDep, CurrentUser, PhaseConfigDep, RedisDep
from eros.api.errors import ERROR_RESPONSES
from eros.api.schemas.activity import ActivityStatus, PhaseStats
from eros.core.activity import acount_users_per_phase, get_last_active

router = APIRouter(prefix="/activity", tags=["activity"], responses=ERROR_RESPONSES)


@router.get("/status", response_model=ActivityStatus)
async def activity_status(
    claims: CurrentUser, redis: RedisDep, config: PhaseConfigDep, clock: ClockDep
) -> ActivityStatus:
    now_ms = clock.now_ms()
    record = await get_last_active(redis, claims.user_id, now_ms, config.idle_seconds)
    return ActivityStatus(
        user_id=claims.user_id,
        last_active=record.last_active_ms,
        last_interaction=record.last_active_ms,
        idle_time=record.idle_ms,
        processing_phase=int(record.phase),
        session_duration=record.session_ms,
        timestamp=now_ms,
    )


@router.get("/stats", response_model=PhaseStats)
async def activity_stats(
    _: AdminUser, redis: RedisDep, config: PhaseConfigDep, clock: ClockDep
) -> PhaseStats:
    now_ms = clock.now_ms()
    counts = await acount_users_per_phase(redis, config.idle_seconds, now_ms)
    return PhaseStats(
        active=counts[0],
        phase1=counts[1],
        phase2=counts[2],
        phase3=counts[3],
        total=sum(counts),
        thresholds_seconds=list(config.idle_seconds),
        timestamp=now_ms,
    )
