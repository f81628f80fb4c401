from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Self
from uuid import UUID

from pydantic import Field, model_validator

from eros.api.schemas.base import ApiModel, SuccessResponse
from eros.api.schemas.profiles import PublicProfile
from eros.api.schemas.reasons import MatchReason
from eros.api.schemas.reports import ReportDetails
from eros.core.recommendations import Source
from eros.core.safety import ReportReason, Severity


class MatchAction(StrEnum):
    LIKE = "like"
    SKIP = "skip"
    VIEW = "view"
    REPORT = "report"


class MatchActionRequest(ApiModel):
    action: MatchAction
    reason: ReportReason | None = Field(None, description="report only; default `other`.")
    severity: Severity | None = Field(None, description="report only; default `medium`.")
    details: ReportDetails | None = Field(None, description="report only.")

    @model_validator(mode="after")
    def _report_fields_only_with_report(self) -> Self:
        extra = self.reason or self.severity or self.details
        if self.action is not MatchAction.REPORT and extra is not None:
            raise ValueError("reason, severity and details go with action `report` only")
        return self


class MatchActionResponse(SuccessResponse):
    match_id: UUID
    action: MatchAction
    mutual: bool = Field(description="A like answered by an earlier like of the other user.")
    message: str


class Recommendation(ApiModel):
    match_id: UUID = Field(description="The candidate's user id; act on it with /action.")
    score: float = Field(ge=0, le=1, description="Reciprocal score: both sides' interest.")
    reasons: list[MatchReason]
    profile: PublicProfile


class RecommendationsResponse(SuccessResponse):
    recommendations: list[Recommendation]
    count: int
    source: Source = Field(
        description="`cache`: the workers' full computation; on a cache miss, `daily`: the "
        "caller's daily set, or `cheap`: a ranking of a few hundred candidates, while the "
        "full computation is queued for the next request. (`computed`, the API's own full "
        "computation, is no longer sent.) Clients must accept values they do "
        "not know."
    )
    generated_at: datetime
