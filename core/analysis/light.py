"""Phase 1 (light): the user's recent favourites and an interaction summary, for Redis.

Phase 2 reads the cached summary back (`cached_favourites`) when it belongs to the same
idle period, and otherwise computes it itself; either way the same `Favourites`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from pydantic import BaseModel, ValidationError

from eros.core.clock import MS_PER_SECOND

logger = logging.getLogger(__name__)

__all__ = [
    "FAVOURITES_LIMIT",
    "SUMMARY_WINDOW",
    "Favourites",
    "cached_favourites",
    "load_favourites",
]

FAVOURITES_LIMIT = 20
SUMMARY_WINDOW = timedelta(days=30)


class Favourite(BaseModel):
    user_id: UUID
    liked_at_ms: int


class Favourites(BaseModel):
    user_id: UUID
    as_of_ms: int
    favourites: list[Favourite]
    # Event kind -> count over SUMMARY_WINDOW before `as_of_ms`.
    summary: dict[str, int]
    like_rate: float | None


async def load_favourites(conn: AsyncConnection[Any], user_id: UUID, as_of: datetime) -> Favourites:
    """People whose latest decision by the user is a like, newest first, and what the
    user did in the last 30 days; everything up to `as_of` (the idle period's start)."""
    cur = await conn.execute(
        "SELECT target_id, occurred_at FROM (SELECT DISTINCT ON (target_id) target_id, kind, "
        " occurred_at FROM interactions WHERE actor_id = %s AND kind IN ('like', 'skip') "
        " AND occurred_at <= %s ORDER BY target_id, occurred_at DESC, id DESC) latest "
        "WHERE kind = 'like' ORDER BY occurred_at DESC, target_id LIMIT %s",
        (user_id, as_of, FAVOURITES_LIMIT),
    )
    favourites = [
        Favourite(user_id=r["target_id"], liked_at_ms=int(r["occurred_at"].timestamp() * 1000))
        for r in await cur.fetchall()
    ]
    cur = await conn.execute(
        "SELECT kind, count(*) AS n FROM interactions WHERE actor_id = %s "
        "AND occurred_at > %s AND occurred_at <= %s GROUP BY kind ORDER BY kind",
        (user_id, as_of - SUMMARY_WINDOW, as_of),
    )
    summary = {r["kind"]: r["n"] for r in await cur.fetchall()}
    decisions = summary.get("like", 0) + summary.get("skip", 0)
    return Favourites(
        user_id=user_id,
        as_of_ms=int(as_of.timestamp() * MS_PER_SECOND),
        favourites=favourites,
        summary=summary,
        like_rate=summary.get("like", 0) / decisions if decisions else None,
    )


def cached_favourites(raw: bytes | str | None, user_id: UUID, as_of_ms: int) -> Favourites | None:
    """The cached summary if it is the user's, computed as of `as_of_ms` (the same idle
    period); None when absent, stale or unreadable."""
    if raw is None:
        return None
    try:
        found = Favourites.model_validate_json(raw)
    except ValidationError:
        logger.warning("Ignored an unreadable favourites cache entry of user %s.", user_id)
        return None
    if found.user_id != user_id or found.as_of_ms != as_of_ms:
        return None
    return found
