from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

from eros.core.profiles import (
    ConversationDepth,
    Weekday,
    age_on,
    clear_reanalysis,
)
from eros.core.recommendation_inputs import _years_before


@pytest.mark.parametrize(
    ("birth", "today", "age"),
    [
        (date(2000, 6, 15), date(2018, 6, 14), 17),
        (date(2000, 6, 15), date(2018, 6, 15), 18),
        (date(2000, 2, 29), date(2018, 2, 28), 17),
        (date(2000, 2, 29), date(2018, 3, 1), 18),
        (date(2000, 2, 29), date(2020, 2, 29), 20),
    ],
)
def test_age_counts_whole_years_from_the_birthday(birth: date, today: date, age: int) -> None:
    assert age_on(birth, today) == age


@pytest.mark.parametrize("today", [date(2024, 2, 29), date(2023, 2, 28), date(2023, 3, 1)])
@pytest.mark.parametrize("years", [18, 19, 20, 21])
def test_the_sql_birth_date_bound_agrees_with_age_on(today: date, years: int) -> None:
    """Born on or before `_years_before(today, n)` exactly when at least n years old."""
    bound = _years_before(today, years)
    assert age_on(bound, today) >= years
    assert age_on(bound + timedelta(days=1), today) < years


def test_vocabularies_map_onto_the_matcher() -> None:
    assert [d.number for d in Weekday] == list(range(7))
    assert [d.slider for d in ConversationDepth] == [0.0, 50.0, 100.0]


def _user_with_profile(db: psycopg.Connection[Any], requested_at: datetime) -> UUID:
    user_id = uuid4()
    db.execute(
        "INSERT INTO users (id, email, password_hash, name) VALUES (%s, %s, 'x', 'n')",
        (user_id, f"{user_id}@example.com"),
    )
    db.execute(
        "INSERT INTO profiles (user_id, display_name, birth_date, gender, genders_sought, "
        "age_min, age_max, analysis_requested_at) "
        "VALUES (%s, 'n', '1990-01-01', 'woman', '{man}', 18, 99, %s)",
        (user_id, requested_at),
    )
    return user_id


def test_the_pipeline_clears_the_re_analysis_flag_only_if_no_newer_save_came(
    db: psycopg.Connection[Any], database_url: str
) -> None:
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    older, newer = _user_with_profile(db, t0), _user_with_profile(db, t0 + timedelta(hours=1))
    # The profile was saved again while the pipeline analysed it: the flag stays.
    db.execute(
        "UPDATE profiles SET analysis_requested_at = %s WHERE user_id = %s",
        (t0 + timedelta(hours=2), older),
    )

    async def clear() -> tuple[bool, bool]:
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            return (
                await clear_reanalysis(conn, older, t0),
                await clear_reanalysis(conn, newer, t0 + timedelta(hours=1)),
            )

    assert asyncio.run(clear()) == (False, True)
    flagged = db.execute(
        "SELECT user_id, analysis_requested_at FROM profiles "
        "WHERE analysis_requested_at IS NOT NULL AND user_id IN (%s, %s)",
        (older, newer),
    ).fetchall()
    assert [(row[0], row[1]) for row in flagged] == [(older, t0 + timedelta(hours=2))]
