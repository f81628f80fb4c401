"""Account protection on the auth routes: rate limits per client address and per account,
and the progressive login lockout (docs/api.md#accounts).

Every check here runs before any password is hashed or verified, so a throttled or
locked request costs a Redis round trip or two, never an argon2 hash. The per-address
limit comes first: one address flooding the API spends only its own budget, not the
account's, and a pair that is locked out spends nothing of the account's budget either.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated
from uuid import UUID

import redis.asyncio as aredis
from fastapi import Depends, Request

from eros.api.deps import ClockDep, RedisDep, SettingsDep
from eros.api.errors import ApiError
from eros.api.limits import SECONDS_PER_HOUR, SECONDS_PER_MINUTE, charge
from eros.core import login_lockout
from eros.core.clock import MS_PER_SECOND, Clock
from eros.core.keys import login_failures_key
from eros.core.login_lockout import LockoutPolicy
from eros.core.ratelimit import RateLimit
from eros.core.settings import Settings
from eros.core.throttle_subjects import address_subject, email_subject

logger = logging.getLogger(__name__)

__all__ = ["AuthScope", "AuthThrottle", "AuthThrottleDep", "LoginLocked", "auth_rule"]


class AuthScope(StrEnum):
    REGISTER_ADDRESS = "register-address"
    REGISTER_EMAIL = "register-email"
    LOGIN_ADDRESS = "login-address"
    LOGIN_ACCOUNT = "login-account"
    REFRESH_ADDRESS = "refresh-address"
    REFRESH_USER = "refresh-user"


def auth_rule(scope: AuthScope, settings: Settings) -> RateLimit:
    per: dict[AuthScope, tuple[int, float]] = {
        AuthScope.REGISTER_ADDRESS: (settings.register_per_address_per_hour, SECONDS_PER_HOUR),
        AuthScope.REGISTER_EMAIL: (settings.register_per_email_per_hour, SECONDS_PER_HOUR),
        AuthScope.LOGIN_ADDRESS: (settings.login_per_address_per_minute, SECONDS_PER_MINUTE),
        AuthScope.LOGIN_ACCOUNT: (settings.login_per_account_per_minute, SECONDS_PER_MINUTE),
        AuthScope.REFRESH_ADDRESS: (settings.refresh_per_address_per_minute, SECONDS_PER_MINUTE),
        AuthScope.REFRESH_USER: (settings.refresh_per_user_per_minute, SECONDS_PER_MINUTE),
    }
    limit, period = per[scope]
    return RateLimit(scope.value, limit, period)


def lockout_policy(settings: Settings) -> LockoutPolicy:
    return LockoutPolicy(
        free_failures=settings.login_free_failures,
        base_seconds=settings.login_lockout_base_seconds,
        max_seconds=settings.login_lockout_max_seconds,
        memory_seconds=settings.login_failure_memory_seconds,
    )


def _whole_seconds(ms: int) -> int:
    return max(1, -(-ms // MS_PER_SECOND))


class LoginLocked(ApiError):
    def __init__(self, retry_after_ms: int) -> None:
        seconds = _whole_seconds(retry_after_ms)
        super().__init__(
            429,
            "login_locked",
            f"Too many failed logins for this account from here; retry in {seconds} s.",
            details={"scope": "login-lockout", "retryAfterSeconds": seconds},
            headers={"Retry-After": str(seconds)},
        )


@dataclass(frozen=True, slots=True)
class AuthThrottle:
    """The checks of one auth request, from one client address."""

    redis: aredis.Redis
    settings: Settings
    clock: Clock
    address: str

    async def _charge(self, scope: AuthScope, subject: UUID | str) -> None:
        await charge(self.redis, auth_rule(scope, self.settings), subject, self.clock.now_ms())

    async def register(self, email: str) -> None:
        await self._charge(AuthScope.REGISTER_ADDRESS, self.address)
        await self._charge(AuthScope.REGISTER_EMAIL, email_subject(email))

    async def login(self, email: str) -> str:
        """Refuse a throttled or locked attempt; returns the key its outcome is kept under."""
        await self._charge(AuthScope.LOGIN_ADDRESS, self.address)
        account = email_subject(email)
        key = login_failures_key(account, self.address)
        locked_ms = await login_lockout.locked_for_ms(self.redis, key, self.clock.now_ms())
        if locked_ms:
            raise LoginLocked(locked_ms)
        await self._charge(AuthScope.LOGIN_ACCOUNT, account)
        return key

    async def login_failed(self, key: str) -> None:
        policy = lockout_policy(self.settings)
        lock = await login_lockout.record_failure(self.redis, key, self.clock.now_ms(), policy)
        if lock:
            logger.info(
                "Repeated failed logins locked an account for %d ms from one address.", lock
            )

    async def login_succeeded(self, key: str) -> None:
        await login_lockout.clear(self.redis, key)

    async def refresh(self) -> None:
        await self._charge(AuthScope.REFRESH_ADDRESS, self.address)

    async def refresh_for(self, user_id: UUID) -> None:
        await self._charge(AuthScope.REFRESH_USER, user_id)


async def get_auth_throttle(
    request: Request, redis: RedisDep, settings: SettingsDep, clock: ClockDep
) -> AuthThrottle:
    host = request.client.host if request.client else None
    return AuthThrottle(redis, settings, clock, address_subject(host))


AuthThrottleDep = Annotated[AuthThrottle, Depends(get_auth_throttle)]
