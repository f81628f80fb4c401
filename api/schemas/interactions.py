from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from pydantic import Field

from eros.api.schemas.base import ApiModel, SuccessResponse
from eros.api.schemas.timestamps import IsoDateTime
from eros.core.interactions import RejectReason

MAX_EVENTS_PER_BATCH = 100


class BatchEventType(StrEnum):
    LIKE = "like"
    SKIP = "skip"
    VIEW = "view"
    MESSAGE_SENT = "message_sent"
    MESSAGE_REPLIED = "message_replied"
    CALL = "call"
    BLOCK = "block"


class InteractionEventIn(ApiModel):
    target_user_id: UUID
    type: BatchEventType
    occurred_at: IsoDateTime = Field(
        description="When it happened on the device, with a time zone (ISO 8601)."
    )


class InteractionBatch(ApiModel):
    events: list[InteractionEventIn] = Field(min_length=1, max_length=MAX_EVENTS_PER_BATCH)


class RejectedEventOut(ApiModel):
    index: int = Field(description="Position of the event in the request's `events`.")
    code: RejectReason


class InteractionBatchResponse(SuccessResponse):
    accepted: int
    rejected: list[RejectedEventOut]
