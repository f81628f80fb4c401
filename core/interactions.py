"""Interactions: what users did to each other, recorded one action or one batch at a time.

A batch from a client (offline queue, message and call events) is checked event by
event: events toward a user who does not exist, has no profile or is separated from the
actor by a block are refused with `target_unavailable` (one code for all three, so the
answer never reveals who blocked whom), as are events with implausible timestamps. A
`block` event blocks its target from its timestamp on: later events of the same batch
toward that target are refused too.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from eros.core.safety import BlockSource, TargetStatus, block, target_statuses

logger = logging.getLogger(__name__)

__all__ = [
    "ACTED_ON_KINDS",
    "DECISION_KINDS",
    "BatchOutcome",
    "EventKind",
    "InteractionEvent",
    "RejectReason",
    "RejectedEvent",
    "latest_decision",
    "record_batch",
    "record_event",
]

MAX_FUTURE_SKEW = timedelta(minutes=5)
"""Client clocks run ahead; an event further in the future than this is refused."""
MAX_EVENT_AGE = timedelta(days=30)
"""An offline queue older than this is stale; its events are refused, not stored."""


class EventKind(StrEnum):
    VIEW = "view"
    LIKE = "like"
    SKIP = "skip"
    REPORT = "report"
    BLOCK = "block"
    MESSAGE_SENT = "message_sent"
    MESSAGE_REPLIED = "message_replied"
    CALL = "call"


DECISION_KINDS = frozenset({EventKind.LIKE, EventKind.SKIP})
# Mirrors the matcher: a view only shows, every other kind means the pair is done.
ACTED_ON_KINDS = frozenset(EventKind) - {EventKind.VIEW}


class RejectReason(StrEnum):
    TARGET_UNAVAILABLE = "target_unavailable"
    SELF_TARGET = "self_target"
    TIMESTAMP_IN_FUTURE = "timestamp_in_future"
    TIMESTAMP_TOO_OLD = "timestamp_too_old"


@dataclass(frozen=True, slots=True)
class InteractionEvent:
    target_id: UUID
    kind: EventKind
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class RejectedEvent:
    index: int
    reason: RejectReason


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    accepted: int
    rejected: tuple[RejectedEvent, ...]
    blocked: tuple[UUID, ...] = ()  # targets of the batch's block events


_INSERT = (
    "INSERT INTO interactions (actor_id, target_id, kind, occurred_at, recorded_at, source) "
    "VALUES (%s, %s, %s, %s, %s, %s)"
)


async def record_event(
    conn: AsyncConnection[Any], actor: UUID, event: InteractionEvent, now: datetime, source: str
) -> None:
    await conn.execute(
        _INSERT, (actor, event.target_id, event.kind.value, event.occurred_at, now, source)
    )


def _timestamp_problem(occurred_at: datetime, now: datetime) -> RejectReason | None:
    if occurred_at > now + MAX_FUTURE_SKEW:
        return RejectReason.TIMESTAMP_IN_FUTURE
    if occurred_at < now - MAX_EVENT_AGE:
        return RejectReason.TIMESTAMP_TOO_OLD
    return None


def _target_problem(
    status: TargetStatus, kind: EventKind, blocked_at: datetime | None, occurred_at: datetime
) -> RejectReason | None:
    if kind is EventKind.BLOCK:
        # Blocking needs only an account: it must work even against someone who hid first.
        return None if status.exists else RejectReason.TARGET_UNAVAILABLE
    if not status.visible or (blocked_at is not None and occurred_at >= blocked_at):
        return RejectReason.TARGET_UNAVAILABLE
    return None


async def record_batch(
    conn: AsyncConnection[Any], actor: UUID, events: Sequence[InteractionEvent], now: datetime
) -> BatchOutcome:
    """Store the acceptable events of a batch (in the caller's transaction)."""
    targets = sorted({e.target_id for e in events if e.target_id != actor})
    statuses = await target_statuses(conn, actor, targets) if targets else {}
    # When a (valid) block event of this batch takes effect, per target.
    blocked_at: dict[UUID, datetime] = {}
    for event in events:
        status = statuses.get(event.target_id)
        if (
            event.kind is EventKind.BLOCK
            and status is not None
            and status.exists
            and _timestamp_problem(event.occurred_at, now) is None
        ):
            earliest = blocked_at.get(event.target_id, event.occurred_at)
            blocked_at[event.target_id] = min(earliest, event.occurred_at)

    accepted: list[tuple[Any, ...]] = []
    rejected: list[RejectedEvent] = []
    new_blocks: set[UUID] = set()
    for index, event in enumerate(events):
        problem = _timestamp_problem(event.occurred_at, now)
        if event.target_id == actor:
            problem = RejectReason.SELF_TARGET
        elif problem is None:
            status = statuses[event.target_id]
            until = blocked_at.get(event.target_id) if event.kind is not EventKind.BLOCK else None
            problem = _target_problem(status, event.kind, until, event.occurred_at)
        if problem is not None:
            rejected.append(RejectedEvent(index, problem))
            continue
        if event.kind is EventKind.BLOCK:
            new_blocks.add(event.target_id)
        else:
            accepted.append(
                (actor, event.target_id, event.kind.value, event.occurred_at, now, "batch")
            )

    async with conn.cursor() as cur:
        if accepted:
            await cur.executemany(_INSERT, accepted)
    for target in sorted(new_blocks):
        await block(conn, actor, target, blocked_at[target], BlockSource.INTERACTION)
    count = len(events) - len(rejected)
    logger.info(
        "Recorded %d interaction events of user %s, refused %d.", count, actor, len(rejected)
    )
    return BatchOutcome(accepted=count, rejected=tuple(rejected), blocked=tuple(sorted(new_blocks)))


async def latest_decision(
    conn: AsyncConnection[Any], actor: UUID, target: UUID
) -> EventKind | None:
    """The actor's latest like or skip of the target, if any."""
    cur = await conn.execute(
        "SELECT kind FROM interactions WHERE actor_id = %s AND target_id = %s "
        "AND kind IN ('like', 'skip') ORDER BY occurred_at DESC, id DESC LIMIT 1",
        (actor, target),
    )
    row = await cur.fetchone()
    return EventKind(row["kind"]) if row else None
