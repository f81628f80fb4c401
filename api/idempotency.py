"""Run a write in one transaction, idempotently when the client sent an `Idempotency-Key`.

Same key and same request: the stored status and body are replayed (with
`Idempotent-Replayed: true`). Same key and a different request: 422
`idempotency_key_reused`. Keys are per user and per endpoint, kept for
`idempotency_key_ttl_seconds`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Header
from fastapi.responses import JSONResponse
from psycopg import AsyncConnection

from eros.api.deps import ClockDep, CurrentUser, DbDep, SettingsDep
from eros.api.limits import WriteKind, guarded_write
from eros.api.schemas.base import ApiModel
from eros.core.clock import utc_from_ms
from eros.core.database import AsyncPool
from eros.core.idempotency import StoredResponse, claim, fingerprint, store

__all__ = ["IdempotencyKey", "IdempotentWrite", "idempotent_write"]

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


@dataclass(frozen=True, slots=True)
class IdempotentWrite:
    """One write request of the caller, with its `Idempotency-Key` if any."""

    db: AsyncPool
    user_id: UUID
    scope: str
    key: str | None
    now_ms: int
    ttl_seconds: int

    async def run(self, request: Any, write: Write) -> JSONResponse:
        """Run `write(conn)` in a transaction; with a key, claim it and store the response
        too.

        `request` is the JSON-able request (body and path parameters) whose fingerprint
        tells a retry from a different request under the same key.
        """
        now = utc_from_ms(self.now_ms)
        key = self.key
        async with self.db.connection() as conn, conn.transaction():
            if key is not None:
                # A reused or busy key raises; the API's error table answers 422 or 409.
                stored = await claim(
                    conn, self.user_id, self.scope, key, fingerprint(request), now, self.ttl_seconds
                )
                if stored is not None:
                    return JSONResponse(
                        stored.body,
                        status_code=stored.status_code,
                        headers={REPLAYED_HEADER: "true"},
                    )
            status_code, response = await write(conn)
            body = response.model_dump(mode="json", by_alias=True)
            if key is not None:
                await store(conn, self.user_id, self.scope, key, StoredResponse(status_code, body))
        return JSONResponse(body, status_code=status_code)


def idempotent_write(kind: WriteKind, scope: str) -> Callable[..., Awaitable[IdempotentWrite]]:
    """A dependency for a rate-limited write that honours `Idempotency-Key` under `scope`:
    `write: Annotated[IdempotentWrite, Depends(idempotent_write(kind, scope))]`."""

    # `guarded_write` as a default: annotations are strings here, and `kind` is local.
    async def dependency(
        claims: CurrentUser,
        db: DbDep,
        settings: SettingsDep,
        clock: ClockDep,
        _guarded: None = Depends(guarded_write(kind)),
        idempotency_key: IdempotencyKey = None,
    ) -> IdempotentWrite:
        return IdempotentWrite(
            db=db,
            user_id=claims.user_id,
            scope=scope,
            key=idempotency_key,
            now_ms=clock.now_ms(),
            ttl_seconds=settings.idempotency_key_ttl_seconds,
        )

    return dependency
