"""Accounts: register, log in, refresh, log out."""

from __future__ import annotations

from fastapi import APIRouter, status

from eros.api.deps import ClockDep, DbDep, SettingsDep
from eros.api.errors import ERROR_RESPONSES
from eros.api.schemas.auth import (
    AuthResponse,
    LoginRequest,
    RefreshRequest,
    RegisterRequest,
    UserOut,
)
from eros.api.schemas.base import SuccessResponse
from eros.core import accounts
from eros.core.accounts import User
from eros.core.clock import MS_PER_SECOND, Clock, utc_from_ms
from eros.core.database import AsyncPool
from eros.core.settings import Settings
from eros.core.tokens import issue_access_token

router = APIRouter(prefix="/auth", tags=["auth"], responses=ERROR_RESPONSES)


def _user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        name=user.name,
        role=user.role.value,
        created_at=user.created_at,
    )


def _auth_response(
    user: User, refresh: accounts.IssuedRefreshToken, settings: Settings, now_ms: int
) -> AuthResponse:
    access = issue_access_token(
        user.id,
        user.role,
        secret=settings.jwt_secret.get_secret_value(),
        now_s=now_ms // MS_PER_SECOND,
        ttl_seconds=settings.access_token_ttl_seconds,
    )
    return AuthResponse(
        access_token=access,
        refresh_token=refresh.token,
        expires_in=settings.access_token_ttl_seconds,
        refresh_expires_at=refresh.expires_at,
        user=_user_out(user),
    )


async def _new_session(user: User, db: AsyncPool, settings: Settings, clock: Clock) -> AuthResponse:
    """Tokens for a new login: an access token and the first refresh token of a family."""
    now_ms = clock.now_ms()
    refresh = await accounts.issue_refresh_token(
        db, user.id, utc_from_ms(now_ms), settings.refresh_token_ttl_seconds
    )
    return _auth_response(user, refresh, settings, now_ms)


@router.post("/register", response_model=AuthResponse, status_code=status.HTTP_201_CREATED)
async def register(
    body: RegisterRequest, db: DbDep, settings: SettingsDep, clock: ClockDep
) -> AuthResponse:
    user = await accounts.register(db, body.email, body.password, body.name)
    return await _new_session(user, db, settings, clock)


@router.post("/login", response_model=AuthResponse)
async def login(
    body: LoginRequest, db: DbDep, settings: SettingsDep, clock: ClockDep
) -> AuthResponse:
    user = await accounts.authenticate(db, body.email, body.password)
    return await _new_session(user, db, settings, clock)


@router.post("/refresh", response_model=AuthResponse)
async def refresh(
    body: RefreshRequest, db: DbDep, settings: SettingsDep, clock: ClockDep
) -> AuthResponse:
    now_ms = clock.now_ms()
    user, issued = await accounts.rotate_refresh_token(
        db, body.refresh_token, utc_from_ms(now_ms), settings.refresh_token_ttl_seconds
    )
    return _auth_response(user, issued, settings, now_ms)


@router.post("/logout", response_model=SuccessResponse)
async def logout(body: RefreshRequest, db: DbDep, clock: ClockDep) -> SuccessResponse:
    # Logging out twice, or with an unknown token, is not an error: the session is gone either way.
    await accounts.revoke_refresh_token(db, body.refresh_token, utc_from_ms(clock.now_ms()))
    return SuccessResponse()
