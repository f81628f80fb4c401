"""Daily matches and the feedback loop's quality report."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from eros.api.schemas.base import ApiModel, SuccessResponse
from eros.api.schemas.profiles import PublicProfile
from eros.api.schemas.reasons import MatchReason


class DailyMatchItem(ApiModel):
    match_id: UUID = Field(description="The candidate's user id; act on it with /action.")
    rank: int = Field(ge=1, le=10)
    score: float = Field(ge=0, le=1, description="Reciprocal score: both sides' interest.")
    reasons: list[MatchReason]
    profile: PublicProfile


class DailyMatchesResponse(SuccessResponse):
    date: date
    source: Literal["cache", "database", "computed"]
    generated_at: datetime
    count: int
    matches: list[DailyMatchItem]


class DayQualityItem(ApiModel):
    date: date
    users: int
    delivered: int
    liked: int
    skipped: int
    precision_at_10: float | None = Field(description="liked / delivered; null: none delivered")


class QualityResponse(SuccessResponse):
    days: int
    delivered: int
    liked: int
    skipped: int
    precision_at_10: float | None
    per_day: list[DayQualityItem]


def profile_json(profile: PublicProfile) -> dict[str, Any]:
    return profile.model_dump(mode="json", by_alias=True)
