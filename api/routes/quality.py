"""The feedback loop's report: precision@10 of delivered daily matches (administrators)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from eros.api.deps import AdminUser, ClockDep, DbDep
from eros.api.errors import ERROR_RESPONSES
from eros.api.schemas.daily import DayQualityItem, QualityResponse
from eros.core.analysis.feedback import precision_at_10
from eros.core.clock import MS_PER_SECOND

router = APIRouter(prefix="/eros", tags=["eros"], responses=ERROR_RESPONSES)

DEFAULT_DAYS = 7
MAX_DAYS = 90


@router.get("/quality", response_model=QualityResponse)
async def eros_quality(
    _: AdminUser,
    db: DbDep,
    clock: ClockDep,
    days: Annotated[int, Query(ge=1, le=MAX_DAYS)] = DEFAULT_DAYS,
) -> QualityResponse:
    """Of the daily matches delivered in the last `days` UTC days, the share the user
    liked after delivery (their latest like or skip counts), per day and overall."""
    today = datetime.fromtimestamp(clock.now_ms() / MS_PER_SECOND, UTC).date()
    async with db.connection() as conn:
        quality = await precision_at_10(conn, today, days)
    return QualityResponse(
        days=days,
        delivered=quality.delivered,
        liked=quality.liked,
        skipped=quality.skipped,
        precision_at_10=quality.precision,
        per_day=[
            DayQualityItem(
                date=d.day,
                users=d.users,
                delivered=d.delivered,
                liked=d.liked,
                skipped=d.skipped,
                precision_at_10=d.precision,
            )
            for d in quality.days
        ],
    )
