"""Run a write in one transaction, idempotently when the client sent an `Idempotency-Key`.

Same key and same request: the stored status and body are replayed (with
`Idempotent-Replayed: true`). Same key and a different request: 422
`idempotency_key_reused`. Keys are per user and per endpoint, kept for
`idempotency_key_ttl_seconds`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import Header
from fastapi.responses import JSONResponse
from psycopg import AsyncConnection

from eros.api.errors import ApiError
from eros.api.schemas.base import ApiModel
from eros.core.accounts import utc_from_ms
from eros.core.database import AsyncPool
from eros.core.idempotency import (
    IdempotencyKeyBusy,
    IdempotencyKeyReused,
    StoredResponse,
    claim,
    fingerprint,
    store,
)

__all__ = ["IdempotencyKey", "run_write"]

MAX_KEY_CHARS = 255
REPLAYED_HEADER = "Idempotent-Replayed"

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=MAX_KEY_CHARS,
        # Visible ASCII only: the key is stored and compared byte for byte.
        pattern=r"^[\x21-\x7e]+$",
        description="Makes the write safe to retry: a repeat with the same key replays "
        "the first response.",
    ),
]

Write = Callable[[AsyncConnection[Any]], Awaitable[tuple[int, ApiModel]]]


async def run_write(
    db: AsyncPool,
    *,
    user_id: UUID,
    scope: str,
    key: str | None,
    request: Any,
    now_ms: int,
    ttl_seconds: int,
    write: Write,
) -> JSONResponse:
    """Run `write(conn)` in a transaction; with a key, claim it and store the response too.

    `request` is the JSON-able request (body and path parameters) whose fingerprint
    tells a retry from a different request under the same key.
    """
    now = utc_from_ms(now_ms)
    async with db.connection() as conn, conn.transaction():
        if key is not None:
            try:
                stored = await claim(
                    conn, user_id, scope, key, fingerprint(request), now, ttl_seconds
                )
            except IdempotencyKeyReused as exc:
                raise ApiError(
                    422,
                    "idempotency_key_reused",
                    "This Idempotency-Key was already used for a different request.",
                ) from exc
            except IdempotencyKeyBusy as exc:
                raise ApiError(
                    409, "idempotency_key_busy", "This Idempotency-Key is busy; retry shortly."
                ) from exc
            if stored is not None:
                return JSONResponse(
                    stored.body,
                    status_code=stored.status_code,
                    headers={REPLAYED_HEADER: "true"},
                )
        status_code, response = await write(conn)
        body = response.model_dump(mode="json", by_alias=True)
        if key is not None:
            await store(conn, user_id, scope, key, StoredResponse(status_code, body))
    return JSONResponse(body, status_code=status_code)
