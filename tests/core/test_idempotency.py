from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg.rows import dict_row

from eros.core.idempotency import (
    IdempotencyKeyReused,
    StoredResponse,
    claim,
    fingerprint,
    prune_expired,
    store,
)

NOW = datetime(2025, 1, 1, tzinfo=UTC)
TTL_SECONDS = 3600


def _user(db: psycopg.Connection[Any]) -> UUID:
    user_id = uuid4()
    db.execute(
        "INSERT INTO users (id, email, password_hash, name) VALUES (%s, %s, 'x', 'n')",
        (user_id, f"{user_id}@example.com"),
    )
    return user_id


def test_a_fingerprint_ignores_key_order_but_not_values() -> None:
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})


def test_a_concurrent_duplicate_waits_for_the_first_and_replays_it(
    db: psycopg.Connection[Any], database_url: str
) -> None:
    user = _user(db)
    request = fingerprint({"events": [1]})

    async def go() -> StoredResponse | None:
        first = await psycopg.AsyncConnection.connect(database_url, row_factory=dict_row)
        second = await psycopg.AsyncConnection.connect(database_url, row_factory=dict_row)
        try:
            async with first.transaction():
                assert await claim(first, user, "s", "k", request, NOW, TTL_SECONDS) is None
                # The duplicate blocks on the key until the first transaction commits.
                duplicate = asyncio.create_task(_claim_in_transaction(second, user, request))
                await asyncio.sleep(0.2)
                assert not duplicate.done()
                await store(first, user, "s", "k", StoredResponse(201, {"id": 7}))
            return await duplicate
        finally:
            await first.close()
            await second.close()

    assert asyncio.run(go()) == StoredResponse(201, {"id": 7})
    with pytest.raises(IdempotencyKeyReused):
        asyncio.run(_claim_once(database_url, user, fingerprint({"events": [2]})))


async def _claim_in_transaction(
    conn: psycopg.AsyncConnection[Any], user: UUID, request: bytes
) -> StoredResponse | None:
    async with conn.transaction():
        return await claim(conn, user, "s", "k", request, NOW, TTL_SECONDS)


async def _claim_once(database_url: str, user: UUID, request: bytes) -> StoredResponse | None:
    conn = await psycopg.AsyncConnection.connect(database_url, row_factory=dict_row)
    try:
        return await _claim_in_transaction(conn, user, request)
    finally:
        await conn.close()


def test_expired_keys_are_pruned(db: psycopg.Connection[Any], database_url: str) -> None:
    user = _user(db)

    async def go() -> int:
        conn = await psycopg.AsyncConnection.connect(database_url, row_factory=dict_row)
        try:
            async with conn.transaction():
                await claim(conn, user, "s", "old", b"h", NOW, TTL_SECONDS)
                await store(conn, user, "s", "old", StoredResponse(200, {}))
            async with conn.transaction():
                later = NOW.replace(year=2026)
                return await prune_expired(conn, later)
        finally:
            await conn.close()

    assert asyncio.run(go()) == 1
