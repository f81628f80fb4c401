"""Reports: filed for moderation; the reporter no longer sees the reported user."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from psycopg import AsyncConnection

from eros.api.deps import CurrentUser, RedisDep
from eros.api.errors import ERROR_RESPONSES, NotFound
from eros.api.guards import refuse_self
from eros.api.idempotency import IdempotentWrite, idempotent_write
from eros.api.limits import WriteKind
from eros.api.schemas.base import ApiModel
from eros.api.schemas.reports import ReportRequest, ReportResponse
from eros.core.clock import utc_from_ms
from eros.core.recommendations import forget_recommendations
from eros.core.safety import file_report, user_exists

router = APIRouter(prefix="/reports", tags=["safety"], responses=ERROR_RESPONSES)


@router.post("", status_code=201, response_model=ReportResponse)
async def create_report(
    body: ReportRequest,
    claims: CurrentUser,
    redis: RedisDep,
    writer: Annotated[IdempotentWrite, Depends(idempotent_write(WriteKind.REPORTS, "reports"))],
) -> JSONResponse:
    """Report a user. Works even if they blocked the caller; hides them from the caller."""
    refuse_self(body.reported_user_id, claims.user_id)

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
            utc_from_ms(writer.now_ms),
        )
        return 201, ReportResponse(report_id=report.id, created_at=report.created_at)

    response = await writer.run(body.model_dump(mode="json"), write)
    await forget_recommendations(redis, claims.user_id, body.reported_user_id)
    return response
