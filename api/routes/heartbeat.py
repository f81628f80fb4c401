"""Heartbeats: the one write every app makes every few seconds."""

from __future__ import annotations

from fastapi import APIRouter, Request

from eros.api.deps import ClockDep, CurrentUser, RedisDep, SettingsDep
from eros.api.errors import ERROR_RESPONSES
from eros.api.metrics import HEARTBEATS
from eros.api.schemas.activity import HeartbeatRequest, HeartbeatResponse
from eros.core.activity import record_heartbeat

router = APIRouter(tags=["activity"], responses=ERROR_RESPONSES)


@router.post("/heartbeat", response_model=HeartbeatResponse)
async def heartbeat(
    body: HeartbeatRequest,
    request: Request,
    claims: CurrentUser,
    redis: RedisDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> HeartbeatResponse:
    """Record activity. A backgrounded app with the screen off is not activity: it is reported
    but does not reset the idle time."""
    now_ms = clock.now_ms()
    active = body.app_active or body.screen_on
    outcome = await record_heartbeat(
        redis, claims.user_id, now_ms, settings.phase_idle_seconds, active=active
    )
    HEARTBEATS.labels("true" if active else "false").inc()
    halted = 0
    halter = request.app.state.halter
    if active and outcome.has_jobs and halter is not None:
        halted = await halter.halt_user(claims.user_id, now_ms)
    return HeartbeatResponse(
        idle_time=outcome.idle_ms,
        processing_phase=int(outcome.phase),
        halted_jobs=halted,
        timestamp=now_ms,
    )
