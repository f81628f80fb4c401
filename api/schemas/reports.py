from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import Field

from eros.api.schemas.base import ApiModel, SuccessResponse
from eros.api.schemas.text import Text
from eros.core.safety import MAX_REPORT_DETAILS_CHARS, ReportReason, Severity

ReportDetails = Annotated[str, Text(MAX_REPORT_DETAILS_CHARS, multiline=True)]


class ReportRequest(ApiModel):
    reported_user_id: UUID
    reason: ReportReason
    severity: Severity = Severity.MEDIUM
    details: ReportDetails | None = None


class ReportResponse(SuccessResponse):
    report_id: UUID
    status: str = Field("open", description="Reports start open and go to moderation.")
    created_at: datetime
    message: str = "Thank you. You will not see this person again."
