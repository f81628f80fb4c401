"""Profiles: one's own (read, replace) and other users' public view of it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path

from eros.api.deps import ClockDep, CurrentUser, DbDep, RedisDep, SettingsDep
from eros.api.errors import ERROR_RESPONSES, ApiError, NotFound
from eros.api.guards import require_active_account
from eros.api.limits import WriteKind, limit
from eros.api.schemas.profiles import (
    OwnProfile,
    ProfileResponse,
    ProfileUpdate,
    PublicProfile,
    PublicProfileResponse,
)
from eros.core.accounts import utc_from_ms
from eros.core.cache import cache_get_model, cache_set_model, invalidate_around
from eros.core.keys import (
    daily_matches_cache_key,
    profile_cache_key,
    public_profile_cache_key,
    recommendations_cache_key,
)
from eros.core.profiles import (
    MAX_PLAUSIBLE_AGE_YEARS,
    MIN_AGE_YEARS,
    age_on,
    get_profile,
    get_visible_profile,
    save_profile,
)
from eros.core.safety import separated

router = APIRouter(prefix="/users", tags=["profiles"], responses=ERROR_RESPONSES)

UserIdPath = Annotated[UUID, Path(alias="userId", description="The user's id.")]
# One message for "no such user" and "blocked": a 404 must not reveal a block.
NO_SUCH_PROFILE = "No such profile."


def _today(now_ms: int) -> date:
    return datetime.fromtimestamp(now_ms / 1000, UTC).date()


def _check_birth_date(birth_date: date, today: date) -> None:
    age = age_on(birth_date, today)
    problem = None
    if age < MIN_AGE_YEARS:
        problem = ("too_young", f"Users must be at least {MIN_AGE_YEARS} years old.")
    elif age > MAX_PLAUSIBLE_AGE_YEARS:
        problem = ("implausible_age", f"An age above {MAX_PLAUSIBLE_AGE_YEARS} is not plausible.")
    if problem is not None:
        kind, message = problem
        raise ApiError(
            422,
            "validation_error",
            "The request is not valid.",
            details=[{"loc": ["body", "birthDate"], "msg": message, "type": kind}],
        )


@router.get("/profile", response_model=ProfileResponse)
async def get_own_profile(
    claims: CurrentUser, db: DbDep, redis: RedisDep, settings: SettingsDep, clock: ClockDep
) -> ProfileResponse:
    """The caller's whole profile: from the cache (12 h), else PostgreSQL."""
    today = _today(clock.now_ms())
    key = profile_cache_key(claims.user_id)
    cached = await cache_get_model(redis, key, OwnProfile)
    if cached is not None:
        # Age is derived, so a cached profile stays right across a birthday.
        return ProfileResponse(
            profile=cached.model_copy(update={"age": age_on(cached.birth_date, today)})
        )
    async with db.connection() as conn:
        profile = await get_profile(conn, claims.user_id)
    if profile is None:
        raise ApiError(404, "profile_not_found", "You have not created a profile yet.")
    own = OwnProfile.from_domain(profile, today)
    await cache_set_model(redis, key, own, settings.profile_cache_ttl_seconds)
    return ProfileResponse(profile=own)


@router.put(
    "/profile",
    response_model=ProfileResponse,
    dependencies=[Depends(require_active_account), Depends(limit(WriteKind.PROFILE))],
)
async def put_own_profile(
    body: ProfileUpdate,
    claims: CurrentUser,
    db: DbDep,
    redis: RedisDep,
    clock: ClockDep,
) -> ProfileResponse:
    """Create or replace the caller's profile.

    Invalidates the cached profile, public profile and recommendations, and flags the
    user for re-analysis. Refused with 503 while Redis is unreachable, since a cache
    that cannot be invalidated would serve the old profile for hours.
    """
    now_ms = clock.now_ms()
    today = _today(now_ms)
    _check_birth_date(body.birth_date, today)
    user_id = claims.user_id
    keys = [
        profile_cache_key(user_id),
        public_profile_cache_key(user_id),
        recommendations_cache_key(user_id),
        daily_matches_cache_key(user_id),
    ]
    async with invalidate_around(redis, keys), db.connection() as conn:
        saved = await save_profile(conn, body.to_domain(user_id), utc_from_ms(now_ms))
    return ProfileResponse(profile=OwnProfile.from_domain(saved, today))


@router.get("/{userId}/profile", response_model=PublicProfileResponse)
async def get_public_profile(
    user_id: UserIdPath,
    claims: CurrentUser,
    db: DbDep,
    redis: RedisDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> PublicProfileResponse:
    """Another user's public fields. 404 when they do not exist, are inactive, or when
    either of the two blocked the other."""
    today = _today(clock.now_ms())
    async with db.connection() as conn:
        # Checked on every request, never cached: a block must hide at once.
        if user_id != claims.user_id and await separated(conn, claims.user_id, user_id):
            raise NotFound(NO_SUCH_PROFILE)
        key = public_profile_cache_key(user_id)
        cached = await cache_get_model(redis, key, PublicProfile)
        if cached is not None:
            return PublicProfileResponse(profile=cached)
        profile = await get_visible_profile(conn, user_id)
    if profile is None:
        raise NotFound(NO_SUCH_PROFILE)
    public = PublicProfile.from_domain(profile, today)
    await cache_set_model(redis, key, public, settings.public_profile_cache_ttl_seconds)
    return PublicProfileResponse(profile=public)
