"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.exceptions
from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute

from eros.api.errors import install_error_handlers
from eros.api.fastpath import FastPathApp, HeartbeatFastPath
from eros.api.halting import Halter
from eros.api.metrics import HALT_METRICS
from eros.api.middleware import RequestContextMiddleware
from eros.api.route_templates import RouteTemplates
from eros.api.routes import (
    activity,
    assistant,
    auth,
    blocks,
    console,
    daily,
    eros,
    health,
    heartbeat,
    interactions,
    matches,
    metrics,
    moderation,
    privacy,
    profiles,
    quality,
    reports,
)
from eros.core import __version__
from eros.core.activity import prune_ended_sessions, prune_inactive
from eros.core.clock import Clock, SystemClock
from eros.core.database import async_pool
from eros.core.llm import assistant_client
from eros.core.phase_config import AsyncPhaseConfigFollower
from eros.core.redis_client import async_redis
from eros.core.settings import Settings, get_settings
from eros.core.token_cache import VerifiedTokenCache
from eros.pipeline.halt import RedisHalter

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
PRUNE_INTERVAL_SECONDS = 300.0


async def _prune_forever(app: FastAPI) -> None:
    """Every few minutes: forget long-inactive users and the starts of ended sessions.
    (Expired idempotency keys are the retention job's, on the workers' budget:
    eros.core.retention.)"""
    settings: Settings = app.state.settings
    while True:
        await asyncio.sleep(PRUNE_INTERVAL_SECONDS)
        try:
            now_ms = app.state.clock.now_ms()
            await prune_inactive(app.state.redis, now_ms, settings.activity_retention_seconds)
            config = await app.state.phase_config.current()
            await prune_ended_sessions(app.state.redis, now_ms, config.idle_seconds)
        except redis.exceptions.RedisError:
            logger.warning("Could not prune inactive users; Redis is unavailable.")


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    if not settings.redis_url:
        raise RuntimeError("EROS_REDIS_URL is not set (run `eros dev` for an embedded one)")
    app.state.redis = async_redis(settings.redis_url)
    app.state.phase_config = AsyncPhaseConfigFollower(
        app.state.redis, settings, f"api/{socket.gethostname()}-{os.getpid()}"
    )
    app.state.db = async_pool(settings)
    # Do not wait for PostgreSQL: the API starts and reports unready until it is reachable.
    await app.state.db.open(wait=False)
    # The default halter stops the job pipeline's jobs; it lives as long as this Redis client.
    own_halter = app.state.halter is None
    if own_halter:
        app.state.halter = RedisHalter(
            app.state.redis, settings, app.state.clock, counted=HALT_METRICS
        )
    # None without an Anthropic key: the assistant then answers with its rules only.
    app.state.assistant_llm = assistant_client(settings)
    pruner = asyncio.create_task(_prune_forever(app), name="eros-prune-activity")
    # Everything allocated so far (routes, models, schemas) lives as long as the process;
    # moving it out of the collector's reach keeps full collections from stalling requests.
    gc.collect()
    gc.freeze()
    logger.info("EROS API %s started.", __version__)
    try:
        yield
    finally:
        pruner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pruner
        await app.state.db.close()
        if app.state.assistant_llm is not None:
            await app.state.assistant_llm.aclose()
        if own_halter:
            app.state.halter = None
        await app.state.phase_config.forget()
        await app.state.redis.aclose()
        logger.info("EROS API stopped.")


def _api_routes(router: APIRouter) -> list[APIRoute]:
    return [route for route in router.routes if isinstance(route, APIRoute)]


def _operation_id(route: APIRoute) -> str:
    # The handler's name, not FastAPI's path-and-method default: it names the method of
    # the generated client (clients/typescript), so it must read well and stay stable.
    return route.name


def create_app(
    settings: Settings | None = None, *, clock: Clock | None = None, halter: Halter | None = None
) -> FastAPI:
    settings = settings or get_settings()
    app = FastPathApp(
        title="EROS",
        version=__version__,
        summary="Idle-time matching backend: heartbeats, accounts, matches.",
        lifespan=_lifespan,
        generate_unique_id_function=_operation_id,
    )
    app.state.settings = settings
    app.state.clock = clock or SystemClock()
    app.state.halter = halter
    app.state.tokens = VerifiedTokenCache(settings.jwt_secret.get_secret_value())

    install_error_handlers(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID"],
        )
    # Routers are included flat, heartbeat first: every level of router nesting and every
    # route tried before the match costs time on the hottest path.
    api_routers = [
        module.router
        for module in (
            heartbeat,
            auth,
            activity,
            health,
            eros,
            quality,
            console,
            profiles,
            privacy,
            daily,
            matches,
            interactions,
            blocks,
            reports,
            moderation,
            assistant,
        )
    ]
    for router in api_routers:
        app.include_router(router, prefix=API_PREFIX)
    root_routers = [health.probe_router, metrics.router, console.page_router]
    for router in root_routers:
        app.include_router(router)
    templates = RouteTemplates(
        [API_PREFIX + route.path for router in api_routers for route in _api_routes(router)]
        + [route.path for router in root_routers for route in _api_routes(router)]
    )
    # Added last, so it is outermost: every response, errors and CORS included, gets an id.
    app.add_middleware(
        RequestContextMiddleware, max_body_bytes=settings.max_body_bytes, templates=templates
    )
    # Heartbeats skip everything above (eros.api.fastpath); the route stays for OpenAPI.
    app.heartbeats = HeartbeatFastPath(
        path=API_PREFIX + heartbeat.PATH,
        state=app.state,
        handlers=app.exception_handlers,
        max_body_bytes=settings.max_body_bytes,
        cors=bool(settings.cors_origins),
    )
    return app
