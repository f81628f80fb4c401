from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import Field

from eros.api.schemas.base import ApiModel, SuccessResponse
from eros.api.schemas.text import Text
from eros.core.safety import MAX_BLOCK_REASON_CHARS, BlockSource

BlockReason = Annotated[str, Text(MAX_BLOCK_REASON_CHARS)]


class BlockRequest(ApiModel):
    user_id: UUID = Field(description="The user to block.")
    reason: BlockReason | None = Field(None, description="Private; kept for moderation.")


class BlockResponse(SuccessResponse):
    user_id: UUID
    blocked: bool = Field(description="Whether the caller now blocks this user.")
    created: bool = Field(description="False when the caller had already blocked this user.")


class BlockedUser(ApiModel):
    user_id: UUID
    source: BlockSource
    created_at: datetime


class BlockList(SuccessResponse):
    blocks: list[BlockedUser]
    count: int


class UnblockResponse(SuccessResponse):
    user_id: UUID
    removed: bool = Field(description="False when the caller was not blocking this user.")
