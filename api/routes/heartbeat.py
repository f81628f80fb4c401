"""Heartbeats: the one write every app makes every few seconds.

`eros.api.fastpath` serves `POST /api/v1/heartbeat` ahead of FastAPI's middleware,
routing and dependency machinery, which cost more than the heartbeat's Redis round trip.
The route declared here documents it in OpenAPI and serves what the fast path hands on
(a browser's request when CORS is configured). Both go through `read_heartbeat` and
`answer_heartbeat`, so they validate, record and answer alike; errors take the one
error shape through the app's exception handlers either way.
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import State

from eros.api.deps import authenticate
from eros.api.errors import ERROR_RESPONSES, Forbidden
from eros.api.metrics import HEARTBEATS
from eros.api.schemas.activity import HeartbeatRequest, HeartbeatResponse
from eros.core.activity import record_heartbeat

router = APIRouter(tags=["activity"], responses=ERROR_RESPONSES)

PATH = "/heartbeat"

_ACTIVE_BEATS = HEARTBEATS.labels("true")
_BACKGROUND_BEATS = HEARTBEATS.labels("false")
_REQUEST_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": HeartbeatRequest.model_json_schema()}},
    },
    "security": [{"HTTPBearer": []}],
}
# HeartbeatResponse on the wire, field for field; the fast path's tests hold the two together.
_RESPONSE_JSON = (
    '{"success":true,"idleTime":%d,"processingPhase":%d,"haltedJobs":%d,'
    '"processingHalted":%s,"timestamp":%d}'
)
_NOT_YOURS = "The heartbeat's userId is not the caller's own id."


def read_heartbeat(raw: bytes) -> HeartbeatRequest:
    """The body, validated by its model; errors are located in the body, as FastAPI does."""
    try:
        return HeartbeatRequest.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        ) from exc


async def answer_heartbeat(state: State, user_id: UUID, beat: HeartbeatRequest) -> bytes:
    """Record the heartbeat, halt the user's jobs if they came back, and answer in JSON."""
    if beat.user_id is not None and beat.user_id != user_id:
        raise Forbidden(_NOT_YOURS)
    now_ms: int = state.clock.now_ms()
    active = beat.app_active or beat.screen_on
    config = await state.phase_config.current()
    outcome = await record_heartbeat(
        state.redis, user_id, now_ms, config.idle_seconds, active=active
    )
    (_ACTIVE_BEATS if active else _BACKGROUND_BEATS).inc()
    halted = 0
    if active and outcome.has_jobs and state.halter is not None:
        halted = await state.halter.halt_user(user_id, now_ms)
    # Formatted rather than serialised through the model: this is the hottest response
    # of the API, and every value is one the server computed.
    flag = "true" if halted else "false"
    return (_RESPONSE_JSON % (outcome.idle_ms, int(outcome.phase), halted, flag, now_ms)).encode()


@router.post(PATH, response_model=HeartbeatResponse, openapi_extra=_REQUEST_BODY_DOC)
async def heartbeat(request: Request) -> Response:
    """Record activity. A backgrounded app with the screen off is not activity: it is
    reported but does not reset the idle time."""
    claims = authenticate(request)
    beat = read_heartbeat(await request.body())
    body = await answer_heartbeat(request.app.state, claims.user_id, beat)
    return Response(body, media_type="application/json")
