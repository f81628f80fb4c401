"""FastAPI dependencies, each with an `Annotated` alias for route signatures.

All are `async def` although few await: FastAPI runs plain `def` dependencies in a
thread pool, which would cost more than the heartbeat itself.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import redis.asyncio as aredis
from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from eros.api.errors import Forbidden, Unauthorized
from eros.core.clock import MS_PER_SECOND, Clock
from eros.core.database import AsyncPool
from eros.core.phase_config import AsyncPhaseConfigFollower, PhaseConfig
from eros.core.settings import Settings
from eros.core.token_cache import VerifiedTokenCache
from eros.core.tokens import AccessClaims, Role

_bearer = HTTPBearer(auto_error=False, description="An access token from /api/v1/auth/login.")


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


async def get_redis(request: Request) -> aredis.Redis:
    client: aredis.Redis = request.app.state.redis
    return client


async def get_db(request: Request) -> AsyncPool:
    pool: AsyncPool = request.app.state.db
    return pool


async def get_phase_config(request: Request) -> PhaseConfig:
    """The phase configuration the API follows now (at most one Redis read a second)."""
    follower: AsyncPhaseConfigFollower = request.app.state.phase_config
    return await follower.current()


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ClockDep = Annotated[Clock, Depends(get_clock)]
RedisDep = Annotated[aredis.Redis, Depends(get_redis)]
DbDep = Annotated[AsyncPool, Depends(get_db)]
PhaseConfigDep = Annotated[PhaseConfig, Depends(get_phase_config)]


def authenticate(request: Request) -> AccessClaims:
    """Verify the request's bearer token; also called directly by the heartbeat route."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "not_authenticated", "An access token is required (Authorization: Bearer)."
        )
    tokens: VerifiedTokenCache = request.app.state.tokens
    clock: Clock = request.app.state.clock
    return tokens.verify(token.strip(), clock.now_ms() // MS_PER_SECOND)


async def get_current_claims(
    request: Request,
    # Declared so that OpenAPI documents the bearer scheme; `authenticate` reads the header.
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AccessClaims:
    """The caller's verified access token. No database read: access tokens live minutes."""
    return authenticate(request)


CurrentUser = Annotated[AccessClaims, Depends(get_current_claims)]


async def get_admin_claims(claims: CurrentUser) -> AccessClaims:
    if claims.role is not Role.ADMIN:
        raise Forbidden("This endpoint is for administrators.")
    return claims


AdminUser = Annotated[AccessClaims, Depends(get_admin_claims)]


# Path parameters named as on the wire (camelCase), like every body field.
UserIdPath = Annotated[UUID, Path(alias="userId", description="The user's id.")]
ReportIdPath = Annotated[UUID, Path(alias="reportId", description="The report's id.")]
