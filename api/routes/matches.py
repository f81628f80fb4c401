"""Recommendations and actions on a match.

`matchId` is the candidate's user id, wherever the candidate came from (on-demand
recommendations or the daily matches of the pipeline): acting on a person does not
depend on which list showed them. The feedback loop links an action to a delivered
daily match by (user, candidate, time of the action after delivery).
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse
from psycopg import AsyncConnection

from eros.api.deps import ClockDep, CurrentUser, DbDep, RedisDep, SettingsDep
from eros.api.errors import ERROR_RESPONSES, NotFound
from eros.api.guards import refuse_self
from eros.api.idempotency import IdempotentWrite, idempotent_write
from eros.api.limits import WriteKind, enforce
from eros.api.schemas.base import ApiModel
from eros.api.schemas.matches import (
    MatchAction,
    MatchActionRequest,
    MatchActionResponse,
    Recommendation,
    RecommendationsResponse,
)
from eros.api.schemas.profiles import PublicProfile
from eros.api.schemas.reasons import MatchReason
from eros.core.clock import utc_from_ms
from eros.core.interactions import EventKind, InteractionEvent, latest_decision, record_event
from eros.core.recommendations import (
    MAX_RECOMMENDATIONS,
    forget_recommendations,
    recommendations_for,
)
from eros.core.safety import ReportReason, Severity, file_report, target_statuses
from eros.pipeline.recommendations import enqueue_recommendations

router = APIRouter(prefix="/matches", tags=["matches"], responses=ERROR_RESPONSES)

DEFAULT_LIMIT = 10
NO_SUCH_MATCH = "No such match."
_MESSAGES = {
    MatchAction.LIKE: "Liked.",
    MatchAction.SKIP: "Skipped.",
    MatchAction.VIEW: "Viewed.",
    MatchAction.REPORT: "Reported. You will not see this person again.",
}


@router.get("/recommendations", response_model=RecommendationsResponse)
async def get_recommendations(
    claims: CurrentUser,
    db: DbDep,
    redis: RedisDep,
    settings: SettingsDep,
    clock: ClockDep,
    limit: Annotated[int, Query(ge=1, le=MAX_RECOMMENDATIONS)] = DEFAULT_LIMIT,
) -> RecommendationsResponse:
    """The caller's best candidates now, both sides' interest combined, with reasons.

    Computed by the workers and cached 24 h; every read drops anyone blocked (either
    way) or acted on since. On a cache miss the answer comes at once from the caller's
    daily set (`source: daily`) or a ranking of a few hundred candidates (`cheap`), and
    the full computation is queued: a later request gets it (`cache`). 404
    `profile_not_found` until the caller has a profile; 503 while Redis (activity data)
    is unreachable.
    """
    now_ms = clock.now_ms()
    result = await recommendations_for(
        db, redis, claims.user_id, now_ms, limit, settings.recommendations_cheap_candidate_cap
    )
    if result.refresh:
        await enqueue_recommendations(redis, settings, claims.user_id)
    today = utc_from_ms(now_ms).date()
    items = [
        Recommendation(
            match_id=match.user_id,
            score=min(1.0, max(0.0, match.score)),
            reasons=[MatchReason.from_domain(r) for r in match.reasons],
            profile=PublicProfile.from_domain(profile, today),
        )
        for match, profile in result.items
    ]
    return RecommendationsResponse(
        recommendations=items,
        count=len(items),
        source=result.source,
        generated_at=result.generated_at,
    )


@router.post("/{matchId}/action", response_model=MatchActionResponse)
async def act_on_match(
    match_id: Annotated[UUID, Path(alias="matchId", description="The candidate's user id.")],
    body: MatchActionRequest,
    claims: CurrentUser,
    redis: RedisDep,
    settings: SettingsDep,
    clock: ClockDep,
    writer: Annotated[
        IdempotentWrite, Depends(idempotent_write(WriteKind.ACTIONS, "match_action"))
    ],
) -> JSONResponse:
    """Like, skip, view or report a candidate. 404 when the candidate does not exist or
    either side blocked the other (a report still works then)."""
    me = claims.user_id
    refuse_self(match_id, me)
    if body.action is MatchAction.REPORT:
        await enforce(WriteKind.REPORTS, claims, redis, settings, clock)
    now = utc_from_ms(writer.now_ms)

    async def write(conn: AsyncConnection[Any]) -> tuple[int, ApiModel]:
        status = (await target_statuses(conn, me, [match_id]))[match_id]
        mutual = False
        if body.action is MatchAction.REPORT:
            if not status.exists:
                raise NotFound(NO_SUCH_MATCH)
            reason = body.reason or ReportReason.OTHER
            severity = body.severity or Severity.MEDIUM
            await file_report(conn, me, match_id, reason, severity, body.details, now)
        else:
            if not status.visible:
                raise NotFound(NO_SUCH_MATCH)
            kind = EventKind(body.action.value)
            await record_event(conn, me, InteractionEvent(match_id, kind, now), now, "action")
            if kind is EventKind.LIKE:
                mutual = await latest_decision(conn, match_id, me) is EventKind.LIKE
        return 200, MatchActionResponse(
            match_id=match_id, action=body.action, mutual=mutual, message=_MESSAGES[body.action]
        )

    response = await writer.run({"matchId": str(match_id), **body.model_dump(mode="json")}, write)
    if body.action is MatchAction.REPORT:
        await forget_recommendations(redis, me, match_id)
    return response
