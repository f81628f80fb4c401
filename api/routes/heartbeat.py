"""Heartbeats: the one write every app makes every few seconds.

This route is deliberately lean. FastAPI's dependency solving and body handling cost
more than the heartbeat's single Redis round trip, so the body is validated with the
same pydantic model by hand, the token goes through the same verifier as every other
route, and the response is serialised once. Errors still take the one error shape.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError

from eros.api.deps import authenticate
from eros.api.errors import ERROR_RESPONSES
from eros.api.metrics import HEARTBEATS
from eros.api.schemas.activity import HeartbeatRequest, HeartbeatResponse
from eros.core.activity import record_heartbeat

router = APIRouter(tags=["activity"], responses=ERROR_RESPONSES)

_ACTIVE_BEATS = HEARTBEATS.labels("true")
_BACKGROUND_BEATS = HEARTBEATS.labels("false")
_REQUEST_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": HeartbeatRequest.model_json_schema()}},
    },
    "security": [{"HTTPBearer": []}],
}


@router.post("/heartbeat", response_model=HeartbeatResponse, openapi_extra=_REQUEST_BODY_DOC)
async def heartbeat(request: Request) -> Response:
    """Record activity. A backgrounded app with the screen off is not activity: it is
    reported but does not reset the idle time."""
    claims = authenticate(request)
    try:
        body = HeartbeatRequest.model_validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        ) from exc
    state = request.app.state
    now_ms: int = state.clock.now_ms()
    active = body.app_active or body.screen_on
    config = await state.phase_config.current()
    outcome = await record_heartbeat(
        state.redis, claims.user_id, now_ms, config.idle_seconds, active=active
    )
    (_ACTIVE_BEATS if active else _BACKGROUND_BEATS).inc()
    halted = 0
    if active and outcome.has_jobs and state.halter is not None:
        halted = await state.halter.halt_user(claims.user_id, now_ms)
    response = HeartbeatResponse(
        idle_time=outcome.idle_ms,
        processing_phase=int(outcome.phase),
        halted_jobs=halted,
        timestamp=now_ms,
    )
    return Response(response.model_dump_json(by_alias=True), media_type="application/json")
