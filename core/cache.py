"""Read-through caching in Redis with PostgreSQL as the source of truth.

Reads and fills degrade: with Redis down a read is a miss and a fill is skipped, so the
caller answers from the database. Invalidation does not degrade (it raises), because a
write whose invalidation silently failed would leave a stale entry for a whole TTL;
`invalidate_around` deletes before and after the write so that neither a Redis outage
nor a concurrent reader can leave one behind.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TypeVar

import redis.asyncio as aredis
import redis.exceptions
from pydantic import BaseModel, ValidationError

logger = logging.getLogger(__name__)

__all__ = ["cache_get_model", "cache_set_model", "invalidate", "invalidate_around"]

M = TypeVar("M", bound=BaseModel)
_UNAVAILABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


async def cache_get_model(client: aredis.Redis, key: str, model: type[M]) -> M | None:
    """The cached value under `key`, or None on a miss, an outage or an unreadable entry."""
    try:
        payload = await client.get(key)
    except _UNAVAILABLE:
        logger.warning("Cache read skipped: Redis is unavailable.")
        return None
    if payload is None:
        return None
    try:
        return model.model_validate_json(payload)
    except ValidationError:
        # Written by an older release with another shape: recompute rather than fail.
        logger.warning("Dropped an unreadable cache entry of type %s.", model.__name__)
        return None


async def cache_set_model(
    client: aredis.Redis, key: str, value: BaseModel, ttl_seconds: int
) -> None:
    try:
        # Field names, not wire aliases: entries hold domain data, which the API renders.
        await client.set(key, value.model_dump_json(), ex=ttl_seconds)
    except _UNAVAILABLE:
        logger.warning("Cache fill skipped: Redis is unavailable.")


async def invalidate(client: aredis.Redis, keys: Sequence[str]) -> None:
    """Delete `keys`; raises `redis.exceptions.ConnectionError` when Redis is down."""
    if keys:
        await client.delete(*keys)


@asynccontextmanager
async def invalidate_around(client: aredis.Redis, keys: Sequence[str]) -> AsyncIterator[None]:
    """Delete `keys` before the wrapped write (refusing it if Redis is down) and after it.

    The second delete removes what a concurrent reader may have cached from the old row
    between the first delete and the commit. If only that one fails, such an entry could
    survive until its TTL; that takes a race and an outage within milliseconds of each
    other, so it is logged rather than turned into a failed write.
    """
    await invalidate(client, keys)
    yield
    try:
        await invalidate(client, keys)
    except _UNAVAILABLE:
        logger.warning("Could not re-invalidate %d cache keys after a write.", len(keys))
