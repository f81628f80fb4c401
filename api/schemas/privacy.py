"""Bodies of the privacy routes: a member's data export and account deletion."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from eros.api.schemas.auth import Password
from eros.api.schemas.base import ApiModel, SuccessResponse

# The export's own version: a breaking change of its shape gets a new one.
EXPORT_FORMAT: Literal["eros-export/1"] = "eros-export/1"


class RedisData(ApiModel):
    last_active_ms: int | None = Field(description="Last activity (epoch ms); null: none tracked.")
    conversations: dict[str, list[dict[str, Any]]] = Field(
        description="Assistant conversations by id, messages oldest first."
    )
    favourites: Any = Field(description="Phase 1's latest summary of your favourites, if cached.")
    checkpoints: dict[str, Any] = Field(
        description="By phase: the state of your unfinished idle-time analysis."
    )
    jobs: list[str] = Field(description="Ids of your queued and running idle-time jobs.")


class ExportResponse(ApiModel):
    format: Literal["eros-export/1"] = EXPORT_FORMAT
    exported_at: datetime
    user_id: UUID
    postgres: dict[str, list[dict[str, Any]]] = Field(
        description="By table, your rows under their column names (docs/api.md#privacy "
        "lists what is withheld and why)."
    )
    redis: RedisData
    withheld: dict[str, str] = Field(
        description="By table: what EROS holds about you there but does not export, and why."
    )


class DeletionRequest(ApiModel):
    password: Password = Field(description="Your current password: deletion cannot be undone.")


class DeletionResponse(SuccessResponse):
    deleted: Literal[True] = True
    reports_filed_kept: int = Field(
        description="Reports you filed, kept for safety without your id."
    )
    reports_against_kept: int = Field(
        description="Reports filed against you, kept for safety without your id."
    )
