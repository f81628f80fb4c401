"""Retention: behaviour older than its horizon is deleted (docs/api.md#privacy).

Three things grow with use and are only useful for a while: `interactions` (the learning
reads them; a like from years ago says little), `shown_history` ("already shown
recently" and the per-day exposure cap) and expired idempotency keys (their replay
window is over). The retention job (`eros.worker.maintenance`, enqueued by the scheduler
on phase 1's queue, so it runs on the workers' CPU budget, not the API's) deletes them in
batches of `retention_batch_rows`, one short autocommit statement each, so that no batch
holds locks for long and a job stopped between batches loses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from psycopg import AsyncConnection

from eros.core.idempotency import prune_expired
from eros.core.settings import Settings

logger = logging.getLogger(__name__)

__all__ = ["Cutoffs", "RetentionReport", "cutoffs", "prune"]


@dataclass(frozen=True, slots=True)
class Cutoffs:
    """Rows older than these go: interactions by `occurred_at`, shown history by
    `last_shown_at`, idempotency keys once `expires_at` has passed."""

    interactions: datetime
    shown_history: datetime
    idempotency_keys: datetime


@dataclass(frozen=True, slots=True)
class RetentionReport:
    interactions: int = 0
    shown_history: int = 0
    idempotency_keys: int = 0


def cutoffs(settings: Settings, now: datetime) -> Cutoffs:
    return Cutoffs(
        interactions=now - timedelta(seconds=settings.interaction_retention_seconds),
        shown_history=now - timedelta(seconds=settings.shown_history_retention_seconds),
        idempotency_keys=now,
    )


# By ctid, since shown_history has a composite key; each subquery reads the oldest rows
# through the index of migration 0007.
_PRUNE_INTERACTIONS = (
    "DELETE FROM interactions WHERE ctid IN (SELECT ctid FROM interactions "
    "WHERE occurred_at < %s LIMIT %s)"
)
_PRUNE_SHOWN_HISTORY = (
    "DELETE FROM shown_history WHERE ctid IN (SELECT ctid FROM shown_history "
    "WHERE last_shown_at < %s LIMIT %s)"
)

Batch = Callable[[int], Awaitable[int]]
# Called between batches; raises to stop the job there (a worker shutting down).
Between = Callable[[], None]


def _nothing() -> None:
    return None


async def _in_batches(batch: Batch, size: int, between: Between) -> int:
    total = 0
    while True:
        between()
        deleted = await batch(size)
        total += deleted
        if deleted < size:
            return total


async def prune(
    conn: AsyncConnection[Any],
    limits: Cutoffs,
    batch_rows: int,
    between: Between = _nothing,
) -> RetentionReport:
    """Delete what is past its horizon; `conn` must be in autocommit mode, so that each
    batch commits by itself."""

    async def interactions(size: int) -> int:
        cur = await conn.execute(_PRUNE_INTERACTIONS, (limits.interactions, size))
        return cur.rowcount

    async def shown(size: int) -> int:
        cur = await conn.execute(_PRUNE_SHOWN_HISTORY, (limits.shown_history, size))
        return cur.rowcount

    async def keys(size: int) -> int:
        return await prune_expired(conn, limits.idempotency_keys, size)

    report = RetentionReport(
        interactions=await _in_batches(interactions, batch_rows, between),
        shown_history=await _in_batches(shown, batch_rows, between),
        idempotency_keys=await _in_batches(keys, batch_rows, between),
    )
    logger.info(
        "Retention deleted %d interactions, %d shown-history rows and %d expired idempotency keys.",
        report.interactions,
        report.shown_history,
        report.idempotency_keys,
    )
    return report
