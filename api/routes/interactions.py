"""Interaction batches from clients: likes, skips, views, messages, calls and blocks."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from psycopg import AsyncConnection

from eros.api.deps import CurrentUser, RedisDep
from eros.api.errors import ERROR_RESPONSES
from eros.api.idempotency import IdempotentWrite, idempotent_write
from eros.api.limits import WriteKind
from eros.api.schemas.base import ApiModel
from eros.api.schemas.interactions import (
    InteractionBatch,
    InteractionBatchResponse,
    RejectedEventOut,
)
from eros.core.clock import utc_from_ms
from eros.core.interactions import BatchOutcome, EventKind, InteractionEvent, record_batch
from eros.core.recommendations import forget_recommendations

router = APIRouter(prefix="/interactions", tags=["interactions"], responses=ERROR_RESPONSES)


@router.post("", response_model=InteractionBatchResponse)
async def post_interactions(
    body: InteractionBatch,
    claims: CurrentUser,
    redis: RedisDep,
    writer: Annotated[
        IdempotentWrite, Depends(idempotent_write(WriteKind.INTERACTIONS, "interactions"))
    ],
) -> JSONResponse:
    """Record a batch of events. Each event is accepted or refused on its own (`rejected`
    lists refused ones by position); send an `Idempotency-Key` to make retries safe."""
    events = [
        InteractionEvent(e.target_user_id, EventKind(e.type.value), e.occurred_at)
        for e in body.events
    ]
    outcome = BatchOutcome(0, ())

    async def write(conn: AsyncConnection[Any]) -> tuple[int, ApiModel]:
        nonlocal outcome
        outcome = await record_batch(conn, claims.user_id, events, utc_from_ms(writer.now_ms))
        rejected = [RejectedEventOut(index=r.index, code=r.reason) for r in outcome.rejected]
        return 200, InteractionBatchResponse(accepted=outcome.accepted, rejected=rejected)

    response = await writer.run(body.model_dump(mode="json"), write)
    if outcome.blocked:
        await forget_recommendations(redis, claims.user_id, *outcome.blocked)
    return response
