"""Daily matches: what the deep phase prepared for the caller today.

Included before the `/matches` router so that `daily` is never read as a matchId.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from eros.api.deps import ClockDep, CurrentUser, DbDep, RedisDep, SettingsDep
from eros.api.errors import ERROR_RESPONSES, NotFound
from eros.api.schemas.daily import DailyMatchesResponse, profile_json
from eros.api.schemas.profiles import PublicProfile
from eros.core.analysis.delivery import DailyAnswer, daily_for_date, daily_matches
from eros.core.clock import utc_from_ms

router = APIRouter(prefix="/matches/daily", tags=["matches"], responses=ERROR_RESPONSES)


def _body(answer: DailyAnswer, now_ms: int) -> dict[str, Any]:
    # Built as plain JSON: the cached path must not pay for a second validation.
    today = utc_from_ms(now_ms).date()
    matches = [
        {
            "matchId": str(match.candidate_id),
            "rank": match.rank,
            "score": match.score,
            "reasons": [r.to_dict() for r in match.reasons],
            "profile": profile_json(PublicProfile.from_domain(profile, today)),
        }
        for match, profile in answer.items
    ]
    return {
        "success": True,
        "date": answer.daily.match_date.isoformat(),
        "source": answer.source,
        "generatedAt": utc_from_ms(answer.daily.generated_at_ms).isoformat(),
        "count": len(matches),
        "matches": matches,
    }


@router.get("", response_model=DailyMatchesResponse)
async def get_daily_matches(
    claims: CurrentUser, db: DbDep, redis: RedisDep, settings: SettingsDep, clock: ClockDep
) -> JSONResponse:
    """Today's 10 matches with reasons: from the cache, else PostgreSQL, else computed now
    (`source` says which). Anyone blocked either way since is left out. 404
    `profile_not_found` when there are none and the caller has no profile yet."""
    now_ms = clock.now_ms()
    answer = await daily_matches(
        db, redis, claims.user_id, now_ms, settings.daily_matches_cache_ttl_seconds
    )
    return JSONResponse(_body(answer, now_ms))


@router.get("/{date}", response_model=DailyMatchesResponse)
async def get_daily_matches_of(
    match_date: Annotated[date, Path(alias="date", description="A UTC day, YYYY-MM-DD.")],
    claims: CurrentUser,
    db: DbDep,
    clock: ClockDep,
) -> JSONResponse:
    """The caller's own matches of that day; 404 when there were none."""
    answer = await daily_for_date(db, claims.user_id, match_date)
    if answer is None:
        raise NotFound("No daily matches for that day.")
    return JSONResponse(_body(answer, clock.now_ms()))
