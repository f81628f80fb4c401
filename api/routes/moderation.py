"""Moderation (administrators): triage reports; suspend, ban and reinstate accounts.

A sanction takes effect on the next request everywhere through the visibility rule
(`eros.core.moderation`): login, refresh and writes refuse the account, and others no
longer see it. Here the account's refresh tokens are revoked (in the domain's
transaction) and its running jobs halted.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request

from eros.api.deps import (
    AdminUser,
    ClockDep,
    DbDep,
    RedisDep,
    ReportIdPath,
    SettingsDep,
    UserIdPath,
)
from eros.api.errors import ERROR_RESPONSES
from eros.api.halting import Halter
from eros.api.schemas.moderation import (
    AuditEntryOut,
    AuditResponse,
    ModerationReport,
    ReportListResponse,
    SanctionRequest,
    SanctionResponse,
    SuspendRequest,
    TriageRequest,
)
from eros.core import moderation
from eros.core.clock import Clock, utc_from_ms
from eros.core.moderation import MAX_PAGE_SIZE, ReportStatus, Sanction
from eros.core.sanction_effects import apply_sanction_effects, lift_sanction_effects

router = APIRouter(prefix="/moderation", tags=["moderation"], responses=ERROR_RESPONSES)

DEFAULT_PAGE_SIZE = 50


async def _halt(request: Request, clock: Clock, user_id: UUID) -> int:
    halter: Halter | None = request.app.state.halter
    return 0 if halter is None else await halter.halt_user(user_id, clock.now_ms())


async def _sanctioned(
    request: Request, clock: Clock, redis: RedisDep, settings: SettingsDep, sanction: Sanction
) -> SanctionResponse:
    now = utc_from_ms(clock.now_ms())
    await apply_sanction_effects(redis, sanction, now, settings.access_token_ttl_seconds)
    halted = await _halt(request, clock, sanction.user_id)
    return SanctionResponse(
        user_id=sanction.user_id, sanction=sanction.kind, until=sanction.until, halted_jobs=halted
    )


@router.get("/reports", response_model=ReportListResponse)
async def list_reports(
    _: AdminUser,
    db: DbDep,
    status: ReportStatus | None = None,
    reported_user_id: Annotated[UUID | None, Query(alias="reportedUserId")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ReportListResponse:
    """Reports, oldest first, by status and reported user."""
    async with db.connection() as conn:
        page = await moderation.list_reports(
            conn, status=status, reported_id=reported_user_id, limit=limit, offset=offset
        )
    return ReportListResponse(
        reports=[ModerationReport.from_domain(r) for r in page.reports],
        total=page.total,
        limit=limit,
        offset=offset,
    )


@router.get("/audit", response_model=AuditResponse)
async def list_audit(
    _: AdminUser,
    db: DbDep,
    user_id: Annotated[UUID | None, Query(alias="userId")] = None,
    report_id: Annotated[UUID | None, Query(alias="reportId")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
) -> AuditResponse:
    """The audit trail, newest first, of a member (sanctions and reports against them),
    of a report, or of everything."""
    async with db.connection() as conn:
        entries = await moderation.list_audit(
            conn, user_id=user_id, report_id=report_id, limit=limit
        )
    return AuditResponse(
        entries=[
            AuditEntryOut(
                id=e.id,
                at=e.at,
                actor_id=e.actor_id,
                action=e.action,
                report_id=e.report_id,
                user_id=e.user_id,
                note=e.note,
            )
            for e in entries
        ]
    )


@router.post("/reports/{reportId}/triage", response_model=ModerationReport)
async def triage_report(
    report_id: ReportIdPath, body: TriageRequest, admin: AdminUser, db: DbDep
) -> ModerationReport:
    """open -> reviewed -> actioned | dismissed (open may go straight to a decision);
    409 `invalid_transition` otherwise. The step and note are audited."""
    async with db.connection() as conn:
        report = await moderation.triage(conn, report_id, body.status, admin.user_id, body.note)
    return ModerationReport.from_domain(report)


@router.post("/users/{userId}/suspend", response_model=SanctionResponse)
async def suspend_user(
    user_id: UserIdPath,
    body: SuspendRequest,
    admin: AdminUser,
    db: DbDep,
    clock: ClockDep,
    request: Request,
    redis: RedisDep,
    settings: SettingsDep,
) -> SanctionResponse:
    """Suspend for `seconds`: no login, no refresh, no writes, hidden from everyone."""
    async with db.connection() as conn:
        sanction = await moderation.suspend(conn, user_id, body.seconds, admin.user_id, body.reason)
    return await _sanctioned(request, clock, redis, settings, sanction)


@router.post("/users/{userId}/ban", response_model=SanctionResponse)
async def ban_user(
    user_id: UserIdPath,
    body: SanctionRequest,
    admin: AdminUser,
    db: DbDep,
    clock: ClockDep,
    request: Request,
    redis: RedisDep,
    settings: SettingsDep,
) -> SanctionResponse:
    """Ban until reinstated: as a suspension without an end."""
    async with db.connection() as conn:
        sanction = await moderation.ban(conn, user_id, admin.user_id, body.reason)
    return await _sanctioned(request, clock, redis, settings, sanction)


@router.post("/users/{userId}/reinstate", response_model=SanctionResponse)
async def reinstate_user(
    user_id: UserIdPath, body: SanctionRequest, admin: AdminUser, db: DbDep, redis: RedisDep
) -> SanctionResponse:
    """Lift a suspension or ban; the account is shown again at once (it logs in anew)."""
    async with db.connection() as conn:
        await moderation.reinstate(conn, user_id, admin.user_id, body.reason)
    await lift_sanction_effects(redis, user_id)
    return SanctionResponse(user_id=user_id, sanction=None)
