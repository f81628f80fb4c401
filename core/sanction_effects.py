"""What a sanction does in Redis, beside PostgreSQL's visibility rule: the account's
access tokens outlive it by up to their lifetime, and heartbeats are checked without a
database read, so the account's heartbeats are refused for as long as such a token can
live (or the suspension lasts, if shorter). The API and the CLI apply it alike."""

from __future__ import annotations

import math
from datetime import datetime
from uuid import UUID

import redis.asyncio as aredis

from eros.core.activity import accept_heartbeats, refuse_heartbeats
from eros.core.moderation import Sanction

__all__ = ["apply_sanction_effects", "heartbeat_refusal_seconds", "lift_sanction_effects"]


def heartbeat_refusal_seconds(until: datetime | None, now: datetime, token_ttl_seconds: int) -> int:
    """How long to refuse heartbeats: a token issued before the sanction lives at most
    `token_ttl_seconds`; a suspension that ends sooner needs no longer refusal."""
    if until is None:
        return token_ttl_seconds
    remaining = math.ceil((until - now).total_seconds())
    return max(1, min(token_ttl_seconds, remaining))


async def apply_sanction_effects(
    client: aredis.Redis, sanction: Sanction, now: datetime, token_ttl_seconds: int
) -> None:
    seconds = heartbeat_refusal_seconds(sanction.until, now, token_ttl_seconds)
    await refuse_heartbeats(client, sanction.user_id, seconds)


async def lift_sanction_effects(client: aredis.Redis, user_id: UUID) -> None:
    """A reinstated account's heartbeats count again at once."""
    await accept_heartbeats(client, user_id)
