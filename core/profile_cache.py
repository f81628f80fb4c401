"""Profiles through the cache: one's own (12 h), others' public view, and a save that
invalidates everything derived from the profile.

Entries hold the domain `Profile`; the API renders it on every read, so a derived field
such as the age stays right across a birthday. Visibility (blocks either way) is checked
on every read and never cached: a block must hide at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from uuid import UUID

import redis.asyncio as aredis
from pydantic import BaseModel

from eros.core.cache import cache_get_model, cache_set_model, invalidate_around
from eros.core.clock import MS_PER_SECOND
from eros.core.database import AsyncPool
from eros.core.errors import ProfileNotFound
from eros.core.keys import (
    daily_matches_cache_key,
    profile_cache_key,
    public_profile_cache_key,
    recommendations_cache_key,
)
from eros.core.profiles import Profile, get_profile, get_visible_profile, save_profile
from eros.core.reanalysis import schedule_reanalysis
from eros.core.safety import separated

__all__ = ["own_profile", "replace_profile", "visible_profile"]


class CachedProfile(BaseModel):
    profile: Profile


async def _read_through(
    client: aredis.Redis,
    key: str,
    ttl_seconds: int,
    load: Callable[[], Awaitable[Profile | None]],
) -> Profile | None:
    cached = await cache_get_model(client, key, CachedProfile)
    if cached is not None:
        return cached.profile
    profile = await load()
    if profile is not None:
        await cache_set_model(client, key, CachedProfile(profile=profile), ttl_seconds)
    return profile


async def own_profile(
    db: AsyncPool, client: aredis.Redis, user_id: UUID, ttl_seconds: int
) -> Profile:
    """The user's whole profile; raises `ProfileNotFound` before one was created."""

    async def load() -> Profile | None:
        async with db.connection() as conn:
            return await get_profile(conn, user_id)

    profile = await _read_through(client, profile_cache_key(user_id), ttl_seconds, load)
    if profile is None:
        raise ProfileNotFound
    return profile


async def visible_profile(
    db: AsyncPool, client: aredis.Redis, viewer_id: UUID, user_id: UUID, ttl_seconds: int
) -> Profile | None:
    """`user_id`'s profile as `viewer_id` may see it: None when it does not exist, the
    account is inactive, or either of the two blocked the other."""
    async with db.connection() as conn:
        if user_id != viewer_id and await separated(conn, viewer_id, user_id):
            return None
        return await _read_through(
            client,
            public_profile_cache_key(user_id),
            ttl_seconds,
            lambda: get_visible_profile(conn, user_id),
        )


async def replace_profile(
    db: AsyncPool, client: aredis.Redis, profile: Profile, now: datetime
) -> Profile:
    """Save the profile, dropping the cached profile, public profile, recommendations and
    daily matches, and schedule its re-analysis (`eros.core.reanalysis`). Raises Redis'
    connection errors while Redis is unreachable, since a cache that cannot be
    invalidated would serve the old profile for hours."""
    user_id = profile.user_id
    keys = [
        profile_cache_key(user_id),
        public_profile_cache_key(user_id),
        recommendations_cache_key(user_id),
        daily_matches_cache_key(user_id),
    ]
    async with invalidate_around(client, keys), db.connection() as conn:
        saved = await save_profile(conn, profile, now)
    await schedule_reanalysis(client, user_id, int(now.timestamp() * MS_PER_SECOND))
    return saved
