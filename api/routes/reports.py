"""Reports: filed for moderation; the reporter no longer sees the reported user."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from psycopg import AsyncConnection

from eros.api.deps import ClockDep, CurrentUser, DbDep, RedisDep, SettingsDep
from eros.api.errors import ERROR_RESPONSES, NotFound
from eros.api.guards import refuse_self, require_active_account
from eros.api.idempotency import IdempotencyKey, run_write
from eros.api.limits import WriteKind, limit
from eros.api.schemas.base import ApiModel
from eros.api.schemas.reports import ReportRequest, ReportResponse
from eros.core.accounts import utc_from_ms
from eros.core.recommendations import forget_recommendations
from eros.core.safety import file_report, user_exists

router = APIRouter(prefix="/reports", tags=["safety"], responses=ERROR_RESPONSES)


@router.post(
    "",
    status_code=201,
    response_model=ReportResponse,
    dependencies=[Depends(require_active_account), Depends(limit(WriteKind.REPORTS))],
)
async def create_report(
    body: ReportRequest,
    claims: CurrentUser,
    db: DbDep,
    redis: RedisDep,
    settings: SettingsDep,
    clock: ClockDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Report a user. Works even if they blocked the caller; hides them from the caller."""
    refuse_self(body.reported_user_id, claims.user_id)
    now_ms = clock.now_ms()

    async def write(conn: AsyncConnection[Any]) -> tuple[int, ApiModel]:
        if not await user_exists(conn, body.reported_user_id):
            raise NotFound("No such user.")
        report = await file_report(
            conn,
            claims.user_id,
            body.reported_user_id,
            body.reason,
            body.severity,
            body.details,
            utc_from_ms(now_ms),
        )
        return 201, ReportResponse(report_id=report.id, created_at=report.created_at)

    response = await run_write(
        db,
        user_id=claims.user_id,
        scope="reports",
        key=idempotency_key,
        request=body.model_dump(mode="json"),
        now_ms=now_ms,
        ttl_seconds=settings.idempotency_key_ttl_seconds,
        write=write,
    )
    await forget_recommendations(redis, claims.user_id, body.reported_user_id)
    return response
