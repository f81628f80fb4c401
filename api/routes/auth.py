"""Accounts: register, log in, refresh, log out.

Register, login and refresh are throttled before any password work (eros.api.auth_throttle);
register answers alike whether or not the address already has an account."""

from __future__ import annotations

from fastapi import APIRouter, status

from eros.api.auth_throttle import AuthThrottleDep
from eros.api.deps import ClockDep, DbDep, SettingsDep
from eros.api.errors import ERROR_RESPONSES
from eros.api.schemas.auth import (
    AuthResponse,
    LoggedOut,
    LoginRequest,
    RefreshRequest,
    RegisterRequest,
    RegistrationAccepted,
    UserOut,
)
from eros.core import accounts
from eros.core.accounts import User
from eros.core.clock import MS_PER_SECOND, Clock, utc_from_ms
from eros.core.database import AsyncPool
from eros.core.errors import UnauthenticatedError
from eros.core.settings import Settings
from eros.core.tokens import issue_access_token

LOGGED_OUT = "Logged out: this login's refresh tokens are revoked."
NOTHING_REVOKED = "Logged out on this device; send the refresh token to revoke the login."

router = APIRouter(prefix="/auth", tags=["auth"], responses=ERROR_RESPONSES)

REGISTRATION_ACCEPTED = (
    "Registration accepted. If this address can be registered, its account is ready: "
    "log in with it to get your tokens."
)


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


@router.post("/register", response_model=RegistrationAccepted, status_code=status.HTTP_202_ACCEPTED)
async def register(
    body: RegisterRequest, db: DbDep, throttle: AuthThrottleDep
) -> RegistrationAccepted:
    await throttle.register(body.email)
    # A new account and an existing address get the same answer (docs/api.md#accounts).
    await accounts.register(db, body.email, body.password, body.name)
    return RegistrationAccepted(message=REGISTRATION_ACCEPTED)


@router.post("/login", response_model=AuthResponse)
async def login(
    body: LoginRequest, db: DbDep, settings: SettingsDep, clock: ClockDep, throttle: AuthThrottleDep
) -> AuthResponse:
    attempt = await throttle.login(body.email)
    try:
        user = await accounts.authenticate(db, body.email, body.password)
    except UnauthenticatedError:
        await throttle.login_failed(attempt)
        raise
    await throttle.login_succeeded(attempt)
    return await _new_session(user, db, settings, clock)


@router.post("/refresh", response_model=AuthResponse)
async def refresh(
    body: RefreshRequest,
    db: DbDep,
    settings: SettingsDep,
    clock: ClockDep,
    throttle: AuthThrottleDep,
) -> AuthResponse:
    await throttle.refresh()
    owner = await accounts.refresh_token_owner(db, body.refresh_token)
    if owner is not None:
        await throttle.refresh_for(owner)
    now_ms = clock.now_ms()
    user, issued = await accounts.rotate_refresh_token(
        db, body.refresh_token, utc_from_ms(now_ms), settings.refresh_token_ttl_seconds
    )
    return _auth_response(user, issued, settings, now_ms)


@router.post("/logout", response_model=LoggedOut)
async def logout(db: DbDep, clock: ClockDep, body: RefreshRequest | None = None) -> LoggedOut:
    """Revoke the login of the refresh token given. Without a body (as the source
    documents' clients send it) nothing is revoked: the client forgets its tokens, and
    the access token expires on its own."""
    # Logging out twice, or with an unknown token, is not an error: the session is gone either way.
    if body is None:
        return LoggedOut(message=NOTHING_REVOKED)
    await accounts.revoke_refresh_token(db, body.refresh_token, utc_from_ms(clock.now_ms()))
    return LoggedOut(message=LOGGED_OUT)
