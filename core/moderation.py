"""Moderation: triage reports, suspend, ban and reinstate accounts, with an audit trail.

A sanction is a row of `account_sanctions` (migration 0006), which the visibility rule
(`eros.core.visibility`, view `enabled_accounts`) reads: a suspended or banned account
disappears from every other user's recommendations, daily matches, public profile,
assistant and interactions on the next request, and login, refresh and writes refuse it.
Times are PostgreSQL's clock, the one the rule compares a suspension's end with.

Halting the account's running jobs is the caller's part (the API and the CLI hold a
halter; the domain holds no Redis).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from eros.core.errors import ConflictError, InvalidError, NotFoundError

logger = logging.getLogger(__name__)

__all__ = [
    "MAX_NOTE_CHARS",
    "MAX_PAGE_SIZE",
    "MAX_SUSPENSION_SECONDS",
    "AuditEntry",
    "ReportPage",
    "ReportStatus",
    "Sanction",
    "SanctionKind",
    "TriagedReport",
    "ban",
    "exposure_lowered_sql",
    "list_audit",
    "list_reports",
    "next_status",
    "reinstate",
    "suspend",
    "triage",
]

MAX_NOTE_CHARS = 2000
MAX_PAGE_SIZE = 100
MAX_SUSPENSION_SECONDS = 365 * 24 * 3600


class ReportStatus(StrEnum):
    OPEN = "open"
    REVIEWED = "reviewed"
    ACTIONED = "actioned"
    DISMISSED = "dismissed"


class SanctionKind(StrEnum):
    SUSPENDED = "suspended"
    BANNED = "banned"


# Forward only: a decided report is final; a new complaint is a new report.
_TRANSITIONS: dict[ReportStatus, frozenset[ReportStatus]] = {
    ReportStatus.OPEN: frozenset(
        {ReportStatus.REVIEWED, ReportStatus.ACTIONED, ReportStatus.DISMISSED}
    ),
    ReportStatus.REVIEWED: frozenset({ReportStatus.ACTIONED, ReportStatus.DISMISSED}),
    ReportStatus.ACTIONED: frozenset(),
    ReportStatus.DISMISSED: frozenset(),
}


def next_status(current: ReportStatus, wanted: ReportStatus) -> ReportStatus:
    """`wanted` if a report may move there from `current`; else 409 `invalid_transition`."""
    if wanted not in _TRANSITIONS[current]:
        raise ConflictError(
            "invalid_transition", f"A report that is {current} cannot become {wanted}."
        )
    return wanted


def exposure_lowered_sql(member: str) -> str:
    """A boolean SQL expression: `member` has enough open reports from distinct members
    to be shown less until reviewed (the threshold lives in migration 0006)."""
    return f"exposure_lowered({member})"


@dataclass(frozen=True, slots=True)
class TriagedReport:
    id: UUID
    reporter_id: UUID | None  # None once the reporter deleted their account
    reported_id: UUID | None  # None once the reported member deleted their account
    reason: str
    severity: str
    details: str | None
    status: ReportStatus
    note: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> TriagedReport:
        return cls(
            id=row["id"],
            reporter_id=row["reporter_id"],
            reported_id=row["reported_id"],
            reason=row["reason"],
            severity=row["severity"],
            details=row["details"],
            status=ReportStatus(row["status"]),
            note=row["moderator_note"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


@dataclass(frozen=True, slots=True)
class ReportPage:
    reports: list[TriagedReport]
    total: int


@dataclass(frozen=True, slots=True)
class Sanction:
    user_id: UUID
    kind: SanctionKind
    until: datetime | None
    reason: str


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor_id: UUID | None
    action: str
    report_id: UUID | None
    user_id: UUID | None
    note: str | None


_REPORT_COLUMNS = (
    "id, reporter_id, reported_id, reason, severity, details, status, moderator_note, "
    "created_at, updated_at"
)


async def list_reports(
    conn: AsyncConnection[Any],
    *,
    status: ReportStatus | None = None,
    reported_id: UUID | None = None,
    limit: int = 50,
    offset: int = 0,
) -> ReportPage:
    """Reports, oldest first (the queue's order), filtered by status and reported user."""
    if not 1 <= limit <= MAX_PAGE_SIZE or offset < 0:
        raise InvalidError("invalid_page", f"limit must be 1..{MAX_PAGE_SIZE}, offset >= 0.")
    where = (
        "(%(status)s::text IS NULL OR status = %(status)s) "
        "AND (%(reported)s::uuid IS NULL OR reported_id = %(reported)s)"
    )
    params = {
        "status": status.value if status else None,
        "reported": reported_id,
        "limit": limit,
        "offset": offset,
    }
    cur = await conn.execute(
        f"SELECT {_REPORT_COLUMNS}, count(*) OVER () AS total FROM reports WHERE {where} "
        "ORDER BY created_at, id LIMIT %(limit)s OFFSET %(offset)s",
        params,
    )
    rows = await cur.fetchall()
    if rows:
        total = int(rows[0]["total"])
    else:
        count = await conn.execute(f"SELECT count(*) AS n FROM reports WHERE {where}", params)
        found = await count.fetchone()
        total = int(found["n"]) if found else 0
    return ReportPage([TriagedReport.from_row(r) for r in rows], total)


async def list_audit(
    conn: AsyncConnection[Any],
    *,
    user_id: UUID | None = None,
    report_id: UUID | None = None,
    limit: int = 50,
) -> list[AuditEntry]:
    """The audit trail, newest first: every triage step and sanction, by user or report.
    Steps on a report also count for the reported user, so a member's trail is complete."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidError("invalid_page", f"limit must be 1..{MAX_PAGE_SIZE}.")
    cur = await conn.execute(
        "SELECT a.id, a.at, a.actor_id, a.action, a.report_id, "
        "COALESCE(a.user_id, r.reported_id) AS user_id, a.note "
        "FROM moderation_audit a LEFT JOIN reports r ON r.id = a.report_id "
        "WHERE (%(user)s::uuid IS NULL OR a.user_id = %(user)s OR r.reported_id = %(user)s) "
        "AND (%(report)s::uuid IS NULL OR a.report_id = %(report)s) "
        "ORDER BY a.id DESC LIMIT %(limit)s",
        {"user": user_id, "report": report_id, "limit": limit},
    )
    return [AuditEntry(**row) for row in await cur.fetchall()]


async def triage(
    conn: AsyncConnection[Any],
    report_id: UUID,
    wanted: ReportStatus,
    actor: UUID | None,
    note: str | None,
) -> TriagedReport:
    """Move a report along its triage; the step and its note go to the audit trail."""
    async with conn.transaction():
        cur = await conn.execute(
            "SELECT status FROM reports WHERE id = %s FOR UPDATE", (report_id,)
        )
        row = await cur.fetchone()
        if row is None:
            raise NotFoundError("report_not_found", "No such report.")
        status = next_status(ReportStatus(row["status"]), wanted)
        cur = await conn.execute(
            "UPDATE reports SET status = %s, moderator_note = COALESCE(%s, moderator_note), "
            f"updated_at = now() WHERE id = %s RETURNING {_REPORT_COLUMNS}",
            (status.value, note, report_id),
        )
        updated = await cur.fetchone()
        await _audit(conn, actor, f"report_{status.value}", note, report_id=report_id)
    assert updated is not None
    logger.info("Report %s is now %s.", report_id, status)
    return TriagedReport.from_row(updated)


async def suspend(
    conn: AsyncConnection[Any], user_id: UUID, seconds: int, actor: UUID | None, reason: str
) -> Sanction:
    """Suspend for `seconds` from now (replacing any sanction); tokens are revoked."""
    if not 1 <= seconds <= MAX_SUSPENSION_SECONDS:
        raise InvalidError(
            "invalid_duration", f"A suspension lasts 1 to {MAX_SUSPENSION_SECONDS} seconds."
        )
    return await _sanction(conn, user_id, SanctionKind.SUSPENDED, seconds, actor, reason)


async def ban(
    conn: AsyncConnection[Any], user_id: UUID, actor: UUID | None, reason: str
) -> Sanction:
    """Ban until reinstated (replacing any sanction); tokens are revoked."""
    return await _sanction(conn, user_id, SanctionKind.BANNED, None, actor, reason)


async def reinstate(
    conn: AsyncConnection[Any], user_id: UUID, actor: UUID | None, reason: str
) -> None:
    """Lift the account's sanction, ended or not; 409 `not_sanctioned` when it has none."""
    async with conn.transaction():
        await _require_user(conn, user_id)
        cur = await conn.execute("DELETE FROM account_sanctions WHERE user_id = %s", (user_id,))
        if cur.rowcount == 0:
            raise ConflictError("not_sanctioned", "This account is neither suspended nor banned.")
        await _audit(conn, actor, "reinstated", reason, user_id=user_id)
    logger.info("Account %s is reinstated.", user_id)


async def _sanction(
    conn: AsyncConnection[Any],
    user_id: UUID,
    kind: SanctionKind,
    seconds: int | None,
    actor: UUID | None,
    reason: str,
) -> Sanction:
    async with conn.transaction():
        await _require_user(conn, user_id)
        cur = await conn.execute(
            "INSERT INTO account_sanctions (user_id, kind, until, reason, actor_id) "
            "VALUES (%(user)s, %(kind)s, "
            "CASE WHEN %(seconds)s::int IS NULL THEN NULL "
            "ELSE now() + make_interval(secs => %(seconds)s::int) END, %(reason)s, %(actor)s) "
            "ON CONFLICT (user_id) DO UPDATE SET kind = EXCLUDED.kind, until = EXCLUDED.until, "
            "reason = EXCLUDED.reason, actor_id = EXCLUDED.actor_id, created_at = now() "
            "RETURNING until",
            {
                "user": user_id,
                "kind": kind.value,
                "seconds": seconds,
                "reason": reason,
                "actor": actor,
            },
        )
        row = await cur.fetchone()
        # A sanctioned account keeps no session: its refresh tokens die with the sanction.
        await conn.execute(
            "UPDATE refresh_tokens SET revoked_at = now() "
            "WHERE user_id = %s AND revoked_at IS NULL",
            (user_id,),
        )
        await _audit(conn, actor, kind.value, reason, user_id=user_id)
    assert row is not None
    logger.info("Account %s is %s.", user_id, kind)
    return Sanction(user_id, kind, row["until"], reason)


async def _require_user(conn: AsyncConnection[Any], user_id: UUID) -> None:
    cur = await conn.execute("SELECT 1 FROM users WHERE id = %s", (user_id,))
    if await cur.fetchone() is None:
        raise NotFoundError("user_not_found", "No such user.")


async def _audit(
    conn: AsyncConnection[Any],
    actor: UUID | None,
    action: str,
    note: str | None,
    *,
    report_id: UUID | None = None,
    user_id: UUID | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO moderation_audit (actor_id, action, report_id, user_id, note) "
        "VALUES (%s, %s, %s, %s, %s)",
        (actor, action, report_id, user_id, note),
    )
