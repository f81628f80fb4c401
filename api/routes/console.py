"""The admin console: its page and assets (public: they hold no data), and the two admin
routes it needs beyond the status ones, the per-minute history and the operator's plan.

The page polls every few seconds rather than holding a server-sent event stream: every
figure it shows is already one cheap read of Redis, a poll needs no long-lived connection
per viewer through proxies and load balancers, and a lost token or a restarted API
recovers on the next poll without reconnect logic.
"""

from __future__ import annotations

import functools
from importlib.resources import files
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from eros.api.deps import AdminUser, ClockDep, RedisDep
from eros.api.errors import ERROR_RESPONSES
from eros.api.schemas.console import HistoryResponse, HistorySample, OperatorPlan, PlanResponse
from eros.pipeline.history import MS_PER_MINUTE, minute_of, read_history
from eros.pipeline.operator_plan import read_plan

router = APIRouter(prefix="/eros", tags=["eros"], responses=ERROR_RESPONSES)
page_router = APIRouter(include_in_schema=False)

CONSOLE_PATH = "/console"
DEFAULT_HISTORY_MINUTES = 180
MAX_HISTORY_MINUTES = 1440
# Asset name -> media type: the page is one HTML file, one script and one style sheet.
ASSETS = {
    "index.html": "text/html; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
}
# Only the page's own files run, and it talks only to its own origin.
ASSET_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


@functools.cache
def _asset_bytes(name: str) -> bytes:
    # Package files do not change while the API runs: read each once, not per request.
    return files("eros.api.console").joinpath(name).read_bytes()


def _asset(name: str) -> Response:
    return Response(_asset_bytes(name), media_type=ASSETS[name], headers=ASSET_HEADERS)


@page_router.get(CONSOLE_PATH)
async def console_page() -> Response:
    return _asset("index.html")


@page_router.get(f"{CONSOLE_PATH}/console.js")
async def console_script() -> Response:
    return _asset("console.js")


@page_router.get(f"{CONSOLE_PATH}/console.css")
async def console_style() -> Response:
    return _asset("console.css")


@router.get("/history", response_model=HistoryResponse)
async def eros_history(
    _: AdminUser,
    redis: RedisDep,
    clock: ClockDep,
    minutes: Annotated[int, Query(ge=1, le=MAX_HISTORY_MINUTES)] = DEFAULT_HISTORY_MINUTES,
) -> HistoryResponse:
    """The scheduler's per-minute samples of the last `minutes` minutes, oldest first."""
    now_ms = clock.now_ms()
    since = minute_of(now_ms) - (minutes - 1) * MS_PER_MINUTE
    samples = await read_history(redis, since)
    return HistoryResponse(
        minutes=minutes,
        samples=[HistorySample.from_sample(sample) for sample in samples],
        timestamp=now_ms,
    )


@router.get("/plan", response_model=PlanResponse)
async def eros_plan(_: AdminUser, redis: RedisDep, clock: ClockDep) -> PlanResponse:
    """The operator's last plan: per phase the workers wanted and ready, budget, reason."""
    record = await read_plan(redis)
    return PlanResponse(
        plan=None if record is None else OperatorPlan.from_record(record),
        timestamp=clock.now_ms(),
    )
