"""Bodies of the administrators' moderation routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import Field

from eros.api.schemas.base import ApiModel, SuccessResponse
from eros.api.schemas.text import Text
from eros.core.moderation import (
    MAX_NOTE_CHARS,
    MAX_SUSPENSION_SECONDS,
    ReportStatus,
    SanctionKind,
    TriagedReport,
)

Note = Annotated[str, Text(MAX_NOTE_CHARS, multiline=True)]


class ModerationReport(ApiModel):
    id: UUID
    reporter_id: UUID | None  # None once the reporter deleted their account
    reported_user_id: UUID | None  # None once the reported member deleted their account
    reason: str
    severity: str
    details: str | None
    status: ReportStatus
    note: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_domain(cls, report: TriagedReport) -> ModerationReport:
        return cls(
            id=report.id,
            reporter_id=report.reporter_id,
            reported_user_id=report.reported_id,
            reason=report.reason,
            severity=report.severity,
            details=report.details,
            status=report.status,
            note=report.note,
            created_at=report.created_at,
            updated_at=report.updated_at,
        )


class ReportListResponse(ApiModel):
    reports: list[ModerationReport]
    total: int
    limit: int
    offset: int


class AuditEntryOut(ApiModel):
    id: int
    at: datetime
    actor_id: UUID | None = Field(description="The administrator; None from the CLI.")
    action: str = Field(
        description="report_reviewed, report_actioned, report_dismissed, suspended, "
        "banned or reinstated."
    )
    report_id: UUID | None
    user_id: UUID | None = Field(description="The sanctioned or reported member.")
    note: str | None


class AuditResponse(ApiModel):
    entries: list[AuditEntryOut]


class TriageRequest(ApiModel):
    status: ReportStatus
    note: Note | None = None


class SuspendRequest(ApiModel):
    seconds: int = Field(ge=1, le=MAX_SUSPENSION_SECONDS, description="How long, from now.")
    reason: Note


class SanctionRequest(ApiModel):
    reason: Note


class SanctionResponse(SuccessResponse):
    user_id: UUID
    sanction: SanctionKind | None = Field(description="None once reinstated.")
    until: datetime | None = None
    halted_jobs: int = 0
