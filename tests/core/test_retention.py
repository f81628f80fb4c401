"""Retention: interactions and shown history past their horizons are deleted in batches,
newer rows are kept."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg.rows import dict_row

from eros.core.retention import RetentionReport, cutoffs, prune
from eros.core.settings import Settings

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _member(db: psycopg.Connection[Any]) -> UUID:
    user = uuid4()
    db.execute(
        "INSERT INTO users (id, email, password_hash, name) VALUES (%s, %s, 'x', 'Member')",
        (user, f"{user.hex}@example.com"),
    )
    return user


def _run(database_url: str, settings: Settings, batch_rows: int) -> RetentionReport:
    async def run() -> RetentionReport:
        conn = await psycopg.AsyncConnection.connect(
            database_url, autocommit=True, row_factory=dict_row
        )
        async with conn:
            return await prune(conn, cutoffs(settings, NOW), batch_rows)

    return asyncio.run(run())


@pytest.fixture
def two_members(db: psycopg.Connection[Any]) -> tuple[UUID, UUID]:
    return _member(db), _member(db)


def test_interactions_and_shown_history_past_their_horizons_go_and_newer_ones_stay(
    db: psycopg.Connection[Any],
    database_url: str,
    settings: Settings,
    two_members: tuple[UUID, UUID],
) -> None:
    actor, target = two_members
    horizon = timedelta(seconds=settings.interaction_retention_seconds)
    old, recent = NOW - horizon - timedelta(days=1), NOW - horizon + timedelta(days=1)
    for at in [old] * 5 + [recent] * 2:
        db.execute(
            "INSERT INTO interactions (actor_id, target_id, kind, occurred_at, source) "
            "VALUES (%s, %s, 'like', %s, 'action')",
            (actor, target, at),
        )
    shown_horizon = timedelta(seconds=settings.shown_history_retention_seconds)
    db.execute(
        "INSERT INTO shown_history (viewer_id, candidate_id, first_shown_at, last_shown_at) "
        "VALUES (%s, %s, %s, %s), (%s, %s, %s, %s)",
        (
            actor,
            target,
            NOW - shown_horizon - timedelta(days=2),
            NOW - shown_horizon - timedelta(days=1),
            target,
            actor,
            NOW - shown_horizon - timedelta(days=2),
            NOW - timedelta(days=1),
        ),
    )

    # Batches smaller than the backlog: the job loops until a batch comes back short.
    report = _run(database_url, settings, batch_rows=2)

    assert (report.interactions, report.shown_history) == (5, 1)
    kept = [row[0] for row in db.execute("SELECT occurred_at FROM interactions")]
    assert kept == [recent, recent]
    viewers = [row[0] for row in db.execute("SELECT viewer_id FROM shown_history")]
    assert viewers == [target]


def test_a_second_run_finds_nothing_left_to_delete(
    database_url: str, settings: Settings, two_members: tuple[UUID, UUID]
) -> None:
    _run(database_url, settings, batch_rows=100)
    assert _run(database_url, settings, batch_rows=100) == RetentionReport()
