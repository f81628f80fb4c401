"""Privacy rights: a member's export of everything EROS holds about them, and erasure.

Export reads every table that holds the member's data (`EXPORTED`), under its column
names, minus secrets (password, token and request hashes) and minus what would identify
other people to them (who reported them, which moderator acted; `WITHHELD`). Erasure
deletes the account row, and PostgreSQL's foreign keys delete the rest with it, in one
transaction; the one exception is safety evidence: reports filed by or against the member
stay, with the member's id set to NULL (migration 0007). Redis is the job of
`eros.pipeline.erasure`. docs/api.md#privacy is the user-facing account of both.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import asdict, dataclass, field
from typing import Any
from uuid import UUID

import redis.asyncio as aredis
from psycopg import AsyncConnection

from eros.core.assistant.conversations import read_messages
from eros.core.errors import AccountDisabled, UnauthenticatedError
from eros.core.keys import (
    ACTIVITY_KEY,
    ASSISTANT_CONVERSATION_PREFIX,
    checkpoint_key,
    favourites_cache_key,
    user_jobs_key,
)
from eros.core.passwords import verify_password
from eros.core.phases import Phase
from eros.core.visibility import enabled_flag_sql

logger = logging.getLogger(__name__)

__all__ = [
    "EXPORTED",
    "WITHHELD",
    "Deletion",
    "RedisExport",
    "check_password",
    "delete_account",
    "export_postgres",
    "export_redis",
]

# Table -> the query of the member's rows (parameter `%(user)s`), in export order. Every
# table of the schema is here or in WITHHELD (tests/core/test_privacy.py checks it).
EXPORTED: dict[str, str] = {
    "users": "SELECT id, email, name, role, is_active, created_at, updated_at "
    "FROM users WHERE id = %(user)s",
    "refresh_tokens": "SELECT id, family_id, created_at, expires_at, used_at, revoked_at "
    "FROM refresh_tokens WHERE user_id = %(user)s ORDER BY created_at, id",
    "profiles": "SELECT * FROM profiles WHERE user_id = %(user)s",
    "interactions": "SELECT id, target_id, kind, occurred_at, recorded_at, source "
    "FROM interactions WHERE actor_id = %(user)s ORDER BY occurred_at, id",
    "blocks": "SELECT blocked_id, source, reason, created_at "
    "FROM blocks WHERE blocker_id = %(user)s ORDER BY created_at",
    "reports": "SELECT id, reported_id, reason, severity, details, status, created_at, "
    "updated_at FROM reports WHERE reporter_id = %(user)s ORDER BY created_at, id",
    "idempotency_keys": "SELECT scope, key, status_code, response_body, created_at, "
    "expires_at FROM idempotency_keys WHERE user_id = %(user)s ORDER BY created_at",
    "shown_history": "SELECT candidate_id, first_shown_at, last_shown_at, times_shown "
    "FROM shown_history WHERE viewer_id = %(user)s ORDER BY first_shown_at",
    "learned_patterns": "SELECT kind, feature, weight, evidence, confidence, learned_at "
    "FROM learned_patterns WHERE user_id = %(user)s ORDER BY kind, feature",
    "ultimate_preferences": "SELECT source, preferences, basis_ms, computed_at "
    "FROM ultimate_preferences WHERE user_id = %(user)s",
    "daily_match_sets": "SELECT match_date, source, preferences_source, generated_at, "
    "delivered_at FROM daily_match_sets WHERE user_id = %(user)s ORDER BY match_date",
    "daily_matches": "SELECT match_date, rank, candidate_id, score, reasons "
    "FROM daily_matches WHERE user_id = %(user)s ORDER BY match_date, rank",
    "account_sanctions": "SELECT kind, until, reason, created_at "
    "FROM account_sanctions WHERE user_id = %(user)s",
    "moderation_audit": "SELECT action, at FROM moderation_audit "
    "WHERE user_id = %(user)s ORDER BY at, id",
}

# What is held about the member but not exported, and why.
WITHHELD: dict[str, str] = {
    "schema_migrations": "holds no personal data",
    "population_models": "the matcher's shared weights, fitted on everyone's decisions",
    "interactions": "others' interactions with the member (they are the others' data)",
    "blocks": "blocks of the member by others (a block must not be revealed)",
    "reports": "reports against the member (they would identify the reporters)",
    "shown_history": "to whom the member was shown (others' recommendations)",
    "daily_matches": "others' daily matches that include the member",
    "account_sanctions": "which administrator sanctioned the member",
    "moderation_audit": "moderators' notes and ids, and the triage of reports",
}


async def export_postgres(conn: AsyncConnection[Any], user_id: UUID) -> dict[str, list[Any]]:
    """Each table's rows of the member, by table; `users` is empty once the account is gone."""
    exported: dict[str, list[Any]] = {}
    for table, query in EXPORTED.items():
        cur = await conn.execute(query, {"user": user_id})
        exported[table] = [dict(row) for row in await cur.fetchall()]
    return exported


@dataclass(frozen=True, slots=True)
class RedisExport:
    last_active_ms: int | None
    # Conversation id -> its messages, oldest first.
    conversations: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # Phase 1's latest summary of the member's favourites (JSON), if still cached.
    favourites: Any = None
    # Phase number -> the state of the member's unfinished work in that phase.
    checkpoints: dict[str, Any] = field(default_factory=dict)
    # Ids of the member's queued and running jobs.
    jobs: list[str] = field(default_factory=list)


async def export_redis(client: aredis.Redis, user_id: UUID) -> RedisExport:
    """What Redis holds about the member beyond copies of PostgreSQL rows (caches)."""
    phases = [p for p in Phase if p is not Phase.ACTIVE]
    async with client.pipeline(transaction=False) as pipe:
        pipe.zscore(ACTIVITY_KEY, user_id.bytes)
        pipe.get(favourites_cache_key(user_id))
        pipe.smembers(user_jobs_key(user_id))
        for phase in phases:
            pipe.get(checkpoint_key(int(phase), user_id))
        score, favourites, jobs, *checkpoints = await pipe.execute()
    prefix = f"{ASSISTANT_CONVERSATION_PREFIX}{user_id}:"
    conversations: dict[str, list[dict[str, Any]]] = {}
    # A SCAN of the key space: an export is rare, and conversations have no index.
    async for key in client.scan_iter(match=f"{prefix}*", count=1000):
        conversation = (key.decode() if isinstance(key, bytes) else key)[len(prefix) :]
        try:
            conversation_id = UUID(conversation)
        except ValueError:
            continue
        messages = await read_messages(client, user_id, conversation_id)
        if messages:
            conversations[conversation] = [asdict(m) for m in messages]
    return RedisExport(
        last_active_ms=None if score is None else int(score),
        conversations=conversations,
        favourites=None if favourites is None else json.loads(favourites),
        checkpoints={
            str(int(phase)): json.loads(raw)
            for phase, raw in zip(phases, checkpoints, strict=True)
            if raw is not None
        },
        jobs=sorted(j.decode() if isinstance(j, bytes) else str(j) for j in jobs),
    )


async def check_password(conn: AsyncConnection[Any], user_id: UUID, password: str) -> None:
    """Re-authentication before an erasure: the member's password, and an account in good
    standing (a suspended or banned member cannot erase the evidence against them)."""
    cur = await conn.execute(
        f"SELECT password_hash, {enabled_flag_sql('users.id')} AS enabled FROM users WHERE id = %s",
        (user_id,),
    )
    row = await cur.fetchone()
    stored = row["password_hash"] if row else None
    # argon2 off the event loop, as at login (eros.core.accounts).
    if not await asyncio.to_thread(verify_password, stored, password) or row is None:
        raise UnauthenticatedError("invalid_credentials", "The password is incorrect.")
    if not row["enabled"]:
        raise AccountDisabled


@dataclass(frozen=True, slots=True)
class Deletion:
    """What an erasure kept: reports the member filed, and reports filed against them,
    both now without the member's id."""

    reports_filed_kept: int
    reports_against_kept: int


async def delete_account(conn: AsyncConnection[Any], user_id: UUID) -> Deletion | None:
    """Delete the account and, by cascade, everything of it; None when it did not exist."""
    async with conn.transaction():
        cur = await conn.execute(
            "SELECT count(*) FILTER (WHERE reporter_id = %(user)s) AS filed, "
            "count(*) FILTER (WHERE reported_id = %(user)s) AS against FROM reports "
            "WHERE reporter_id = %(user)s OR reported_id = %(user)s",
            {"user": user_id},
        )
        counts = await cur.fetchone()
        cur = await conn.execute("DELETE FROM users WHERE id = %s", (user_id,))
        if cur.rowcount == 0:
            return None
    assert counts is not None
    logger.info(
        "Deleted an account; %d reports it filed and %d against it were kept anonymised.",
        counts["filed"],
        counts["against"],
    )
    return Deletion(reports_filed_kept=counts["filed"], reports_against_kept=counts["against"])
