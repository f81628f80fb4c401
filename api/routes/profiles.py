"""Profiles: one's own (read, replace) and other users' public view of it."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends

from eros.api.deps import ClockDep, CurrentUser, DbDep, RedisDep, SettingsDep, UserIdPath
from eros.api.errors import ERROR_RESPONSES, ApiError, NotFound
from eros.api.limits import WriteKind, guarded_write
from eros.api.schemas.profiles import (
    OwnProfile,
    ProfileResponse,
    ProfileUpdate,
    PublicProfile,
    PublicProfileResponse,
)
from eros.core.clock import utc_from_ms
from eros.core.profile_cache import own_profile, replace_profile, visible_profile
from eros.core.profiles import MAX_PLAUSIBLE_AGE_YEARS, MIN_AGE_YEARS, age_on

router = APIRouter(prefix="/users", tags=["profiles"], responses=ERROR_RESPONSES)

# One message for "no such user" and "blocked": a 404 must not reveal a block.
NO_SUCH_PROFILE = "No such profile."


def _today(now_ms: int) -> date:
    return utc_from_ms(now_ms).date()


def _check_birth_date(birth_date: date, today: date) -> None:
    age = age_on(birth_date, today)
    problem = None
    if age < MIN_AGE_YEARS:
        problem = ("too_young", f"Users must be at least {MIN_AGE_YEARS} years old.")
    elif age > MAX_PLAUSIBLE_AGE_YEARS:
        problem = ("implausible_age", f"An age above {MAX_PLAUSIBLE_AGE_YEARS} is not plausible.")
    if problem is not None:
        kind, message = problem
        raise _invalid("birthDate", message, kind)


def _invalid(field: str, message: str, kind: str) -> ApiError:
    return ApiError(
        422,
        "validation_error",
        "The request is not valid.",
        details=[{"loc": ["body", field], "msg": message, "type": kind}],
    )


@router.get("/profile", response_model=ProfileResponse)
async def get_own_profile(
    claims: CurrentUser, db: DbDep, redis: RedisDep, settings: SettingsDep, clock: ClockDep
) -> ProfileResponse:
    """The caller's whole profile: from the cache (12 h), else PostgreSQL."""
    profile = await own_profile(db, redis, claims.user_id, settings.profile_cache_ttl_seconds)
    return ProfileResponse(profile=OwnProfile.from_domain(profile, _today(clock.now_ms())))


@router.put(
    "/profile",
    response_model=ProfileResponse,
    dependencies=[Depends(guarded_write(WriteKind.PROFILE))],
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
    try:
        birth_date = body.birth_date_on(today)
    except ValueError as exc:
        raise _invalid("age", str(exc), "age_mismatch") from exc
    _check_birth_date(birth_date, today)
    profile = body.to_domain(claims.user_id, birth_date)
    saved = await replace_profile(db, redis, profile, utc_from_ms(now_ms))
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
    profile = await visible_profile(
        db, redis, claims.user_id, user_id, settings.public_profile_cache_ttl_seconds
    )
    if profile is None:
        raise NotFound(NO_SUCH_PROFILE)
    return PublicProfileResponse(profile=PublicProfile.from_domain(profile, _today(clock.now_ms())))
