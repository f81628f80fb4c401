"""FastAPI dependencies, each with an `Annotated` alias for route signatures."""

from __future__ import annotations

from typing import Annotated

import redis.asyncio as aredis
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg_pool import AsyncConnectionPool

from eros.api.errors import Forbidden, Unauthorized
from eros.core.clock import Clock
from eros.core.settings import Settings
from eros.core.tokens import AccessClaims, Role, decode_access_token

_bearer = HTTPBearer(auto_error=False, description="An access token from /api/v1/auth/login.")


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def get_redis(request: Request) -> aredis.Redis:
    client: aredis.Redis = request.app.state.redis
    return client


def get_db(request: Request) -> AsyncConnectionPool:
    pool: AsyncConnectionPool = request.app.state.db
    return pool


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ClockDep = Annotated[Clock, Depends(get_clock)]
RedisDep = Annotated[aredis.Redis, Depends(get_redis)]
DbDep = Annotated[AsyncConnectionPool, Depends(get_db)]


def get_current_claims(
    settings: SettingsDep,
    clock: ClockDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AccessClaims:
    """The caller's verified access token. No database read: heartbeats are the hot path,
    and access tokens live only minutes."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("not_authenticated", "An access token is required (Authorization: Bearer).")
    return decode_access_token(
        credentials.credentials,
        secret=settings.jwt_secret.get_secret_value(),
        now_s=clock.now_ms() // 1000,
    )


CurrentUser = Annotated[AccessClaims, Depends(get_current_claims)]


def get_admin_claims(claims: CurrentUser) -> AccessClaims:
    if claims.role is not Role.ADMIN:
        raise Forbidden("This endpoint is for administrators.")
    return claims


AdminUser = Annotated[AccessClaims, Depends(get_admin_claims)]
