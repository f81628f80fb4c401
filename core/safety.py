"""Blocks and reports: a block either way separates two users everywhere.

Whether one user may see another is the visibility rule of `eros.core.visibility`
(blocks either way, disabled accounts), asked by every read path (public profile,
recommendations, daily matches, actions, interactions) from PostgreSQL, never from a
cache, so a block takes effect on the next request. A report also blocks the reported
user on behalf of the reporter, which hides each from the other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

from psycopg import AsyncConnection

from eros.core.visibility import enabled_flag_sql, visible, visible_flag_sql

logger = logging.getLogger(__name__)

__all__ = [
    "BlockSource",
    "ReportReason",
    "Severity",
    "TargetStatus",
    "block",
    "file_report",
    "list_blocks",
    "separated",
    "target_statuses",
    "unblock",
    "user_exists",
]

MAX_REPORT_DETAILS_CHARS = 2000
MAX_BLOCK_REASON_CHARS = 200


class BlockSource(StrEnum):
    MANUAL = "manual"
    INTERACTION = "interaction"
    REPORT = "report"


class ReportReason(StrEnum):
    HARASSMENT = "harassment"
    SPAM = "spam"
    SCAM = "scam"
    FAKE_PROFILE = "fake_profile"
    INAPPROPRIATE_CONTENT = "inappropriate_content"
    HATE_SPEECH = "hate_speech"
    THREATS = "threats"
    UNDERAGE = "underage"
    OTHER = "other"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class TargetStatus:
    """What an actor may do to a target. `exists`: an enabled account (enough to block or
    report it); `visible`: also has a profile, and the visibility rule lets the actor see
    it (no block either way)."""

    exists: bool
    has_profile: bool
    visible: bool


_MISSING = TargetStatus(exists=False, has_profile=False, visible=False)

_TARGET_STATUSES_SQL = f"""
SELECT t.id, {enabled_flag_sql("t.id")} AS enabled, p.user_id IS NOT NULL AS has_profile,
  {visible_flag_sql("%(actor)s", "t.id")} AS visible
FROM unnest(%(targets)s::uuid[]) AS t(id)
LEFT JOIN profiles p ON p.user_id = t.id
"""


async def target_statuses(
    conn: AsyncConnection[Any], actor: UUID, targets: list[UUID]
) -> dict[UUID, TargetStatus]:
    """The status of each target for `actor`, in one query; unknown ids are `exists=False`."""
    cur = await conn.execute(_TARGET_STATUSES_SQL, {"actor": actor, "targets": targets})
    found = {
        row["id"]: TargetStatus(
            exists=row["enabled"],
            has_profile=row["enabled"] and row["has_profile"],
            visible=row["visible"] and row["has_profile"],
        )
        for row in await cur.fetchall()
    }
    return {t: found.get(t, _MISSING) for t in targets}


async def separated(conn: AsyncConnection[Any], a: UUID, b: UUID) -> bool:
    """Whether `a` may not see `b`: a block either way, or any other reason of the
    visibility rule (`b`'s account disabled, for one)."""
    return not await visible(conn, a, b)


async def user_exists(conn: AsyncConnection[Any], user_id: UUID) -> bool:
    cur = await conn.execute(
        "SELECT EXISTS (SELECT 1 FROM users WHERE id = %s) AS found", (user_id,)
    )
    row = await cur.fetchone()
    return bool(row and row["found"])


async def block(
    conn: AsyncConnection[Any],
    blocker: UUID,
    blocked: UUID,
    now: datetime,
    source: BlockSource,
    reason: str | None = None,
) -> bool:
    """Block `blocked` for `blocker` and log it as an interaction; False if already blocked.

    The caller checks that `blocked` exists; blocking someone who blocked you is allowed
    and says nothing about their block.
    """
    cur = await conn.execute(
        "INSERT INTO blocks (blocker_id, blocked_id, source, reason, created_at) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
        (blocker, blocked, source.value, reason, now),
    )
    created = cur.rowcount == 1
    if created:
        await conn.execute(
            "INSERT INTO interactions "
            "(actor_id, target_id, kind, occurred_at, recorded_at, source) "
            "VALUES (%s, %s, 'block', %s, %s, %s)",
            (blocker, blocked, now, now, "report" if source is BlockSource.REPORT else "block"),
        )
        logger.info("User %s blocked user %s (%s).", blocker, blocked, source.value)
    return created


async def unblock(conn: AsyncConnection[Any], blocker: UUID, blocked: UUID) -> bool:
    """Lift the blocker's own block; the other side's block, if any, stays."""
    cur = await conn.execute(
        "DELETE FROM blocks WHERE blocker_id = %s AND blocked_id = %s", (blocker, blocked)
    )
    return cur.rowcount == 1


@dataclass(frozen=True, slots=True)
class BlockEntry:
    user_id: UUID
    source: BlockSource
    created_at: datetime


async def list_blocks(conn: AsyncConnection[Any], blocker: UUID) -> list[BlockEntry]:
    """The users `blocker` blocked, newest first (never those who blocked `blocker`)."""
    cur = await conn.execute(
        "SELECT blocked_id, source, created_at FROM blocks WHERE blocker_id = %s "
        "ORDER BY created_at DESC, blocked_id",
        (blocker,),
    )
    return [
        BlockEntry(row["blocked_id"], BlockSource(row["source"]), row["created_at"])
        for row in await cur.fetchall()
    ]


@dataclass(frozen=True, slots=True)
class Report:
    id: UUID
    reported_id: UUID
    reason: ReportReason
    severity: Severity
    created_at: datetime


async def file_report(
    conn: AsyncConnection[Any],
    reporter: UUID,
    reported: UUID,
    reason: ReportReason,
    severity: Severity,
    details: str | None,
    now: datetime,
) -> Report:
    """Record a report for moderation and hide the reported user from the reporter."""
    report_id = uuid4()
    await conn.execute(
        "INSERT INTO reports (id, reporter_id, reported_id, reason, severity, details, "
        "created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (report_id, reporter, reported, reason.value, severity.value, details, now, now),
    )
    await conn.execute(
        "INSERT INTO interactions "
        "(actor_id, target_id, kind, occurred_at, recorded_at, source) "
        "VALUES (%s, %s, 'report', %s, %s, 'report')",
        (reporter, reported, now, now),
    )
    await block(conn, reporter, reported, now, BlockSource.REPORT, reason=reason.value)
    if severity is Severity.CRITICAL:
        logger.warning("A critical report %s was filed against user %s.", report_id, reported)
    else:
        logger.info("Report %s was filed against user %s.", report_id, reported)
    return Report(report_id, reported, reason, severity, now)
