"""Idempotency keys: a retried write replays its first response instead of writing twice.

The key is claimed inside the write's own transaction (an INSERT on the key's primary
key), and the response is stored in that same transaction. So the write and its stored
response commit together or not at all; a concurrent duplicate blocks on the key until
the first commits and then replays it; and a write that failed leaves no key behind, so
its retry runs afresh. Keys are scoped per user and per endpoint.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

logger = logging.getLogger(__name__)

__all__ = [
    "IdempotencyKeyBusy",
    "IdempotencyKeyReused",
    "StoredResponse",
    "claim",
    "fingerprint",
    "prune_expired",
    "store",
]


class IdempotencyKeyReused(Exception):
    """The key was already used with a different request."""


class IdempotencyKeyBusy(Exception):
    """The key changed hands while this request ran (it expired meanwhile); retry."""


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status_code: int
    body: Any


def fingerprint(payload: Any) -> bytes:
    """SHA-256 of the request's canonical JSON (keys sorted), so formatting does not count."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).digest()


async def claim(
    conn: AsyncConnection[Any],
    user_id: UUID,
    scope: str,
    key: str,
    request_hash: bytes,
    now: datetime,
    ttl_seconds: int,
) -> StoredResponse | None:
    """Claim `key` for this request (None: go ahead and write) or return the stored response.

    Must run in the transaction of the write. Raises `IdempotencyKeyReused` when the key
    was used for a different request.
    """
    # The user's expired keys go first, so that an old key can be used afresh.
    await conn.execute(
        "DELETE FROM idempotency_keys WHERE user_id = %s AND expires_at <= %s", (user_id, now)
    )
    cur = await conn.execute(
        "INSERT INTO idempotency_keys (user_id, scope, key, request_hash, created_at, expires_at) "
        "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING key",
        (user_id, scope, key, request_hash, now, now + timedelta(seconds=ttl_seconds)),
    )
    if await cur.fetchone() is not None:
        return None
    cur = await conn.execute(
        "SELECT request_hash, status_code, response_body FROM idempotency_keys "
        "WHERE user_id = %s AND scope = %s AND key = %s",
        (user_id, scope, key),
    )
    row = await cur.fetchone()
    if row is None or row["status_code"] is None:
        # Only visible once committed with its response; absent means it just expired.
        raise IdempotencyKeyBusy("the key expired while this request ran")
    if bytes(row["request_hash"]) != request_hash:
        raise IdempotencyKeyReused("the key was used for a different request")
    logger.info("Replayed the stored response of an idempotent %s request.", scope)
    return StoredResponse(row["status_code"], row["response_body"])


async def store(
    conn: AsyncConnection[Any], user_id: UUID, scope: str, key: str, response: StoredResponse
) -> None:
    """Attach the response to the claimed key (same transaction as `claim`)."""
    await conn.execute(
        "UPDATE idempotency_keys SET status_code = %s, response_body = %s "
        "WHERE user_id = %s AND scope = %s AND key = %s",
        (response.status_code, Jsonb(response.body), user_id, scope, key),
    )


async def prune_expired(conn: AsyncConnection[Any], now: datetime, limit: int | None = None) -> int:
    """Delete expired keys, at most `limit` of them (the retention job, `eros.core.retention`,
    calls it in batches; `claim` only prunes its own user's)."""
    if limit is None:
        cur = await conn.execute("DELETE FROM idempotency_keys WHERE expires_at <= %s", (now,))
    else:
        cur = await conn.execute(
            "DELETE FROM idempotency_keys WHERE ctid IN (SELECT ctid FROM idempotency_keys "
            "WHERE expires_at <= %s LIMIT %s)",
            (now, limit),
        )
    return cur.rowcount
