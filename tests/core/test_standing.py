"""Standing facts from PostgreSQL, and cooldowns through the matcher's real inputs (`rank`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
import redis
import redis.asyncio as aredis
from psycopg import AsyncConnection
from psycopg.rows import dict_row

from eros.core.matching import FilterRules, Match
from eros.core.matching.standing import (
    COOLDOWN_DAYS,
    ESTABLISHED_MIN_DECISIONS,
    IGNORED_CONVERSATIONS_FOR_COOLDOWN,
    REPLY_WINDOW_HOURS,
    REPORTS_FOR_COOLDOWN,
    Conversation,
    StandingFacts,
)
from eros.core.recommendation_inputs import load_inputs, rank
from eros.core.standing import load_standing

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
REPLY_WINDOW = timedelta(hours=REPLY_WINDOW_HOURS)
COOLDOWN = timedelta(days=COOLDOWN_DAYS)
Ranked = Callable[[UUID, datetime], list[Match]]


def _ids(matches: list[Match]) -> list[UUID]:
    return [UUID(str(m.user_id)) for m in matches]


def _user(db: psycopg.Connection[Any], joined: datetime = T0 - timedelta(days=60)) -> UUID:
    user_id = uuid4()
    db.execute(
        "INSERT INTO users (id, email, password_hash, name, created_at) "
        "VALUES (%s, %s, 'x', 'n', %s)",
        (user_id, f"{user_id}@example.com", joined),
    )
    return user_id


def _member(db: psycopg.Connection[Any], gender: str, sought: str) -> UUID:
    """A user with a profile in Berlin, saved at T0 (so active throughout the tests)."""
    user_id = _user(db)
    db.execute(
        "INSERT INTO profiles (user_id, display_name, birth_date, gender, genders_sought, "
        "age_min, age_max, latitude, longitude, max_distance_km, interest_scores, "
        "created_at, updated_at) VALUES (%s, 'n', '1995-01-01', %s, %s, 18, 99, 52.52, 13.4, "
        "50, '{\"hiking\": 70}', %s, %s)",
        (user_id, gender, [sought], T0, T0),
    )
    return user_id


def _event(db: psycopg.Connection[Any], actor: UUID, target: UUID, kind: str, at: datetime) -> None:
    db.execute(
        "INSERT INTO interactions (actor_id, target_id, kind, occurred_at, source) "
        "VALUES (%s, %s, %s, %s, 'batch')",
        (actor, target, kind, at),
    )


def _report(
    db: psycopg.Connection[Any], reporter: UUID, reported: UUID, at: datetime, status: str
) -> None:
    db.execute(
        "INSERT INTO reports (id, reporter_id, reported_id, reason, severity, status, "
        "created_at, updated_at) VALUES (%s, %s, %s, 'spam', 'low', %s, %s, %s)",
        (uuid4(), reporter, reported, status, at, at),
    )


def _facts(database_url: str, ids: list[UUID], now: datetime) -> dict[UUID, StandingFacts]:
    async def go() -> dict[UUID, StandingFacts]:
        async with await AsyncConnection.connect(
            database_url, autocommit=True, row_factory=dict_row
        ) as conn:
            return await load_standing(conn, ids, now)

    return asyncio.run(go())


@pytest.fixture
def ranked(database_url: str, redis_client: redis.Redis, redis_url: str) -> Ranked:
    """The viewer's matches as the light path and phase 3 compute them at a given time
    (no heartbeats recorded: profiles count as active from their last save)."""

    def run(viewer: UUID, now: datetime) -> list[Match]:
        async def go() -> list[Match]:
            client = aredis.Redis.from_url(redis_url)
            try:
                async with await AsyncConnection.connect(
                    database_url, autocommit=True, row_factory=dict_row
                ) as conn:
                    inputs = await load_inputs(conn, client, viewer, now, FilterRules())
            finally:
                await client.aclose()
            assert inputs is not None
            return rank(inputs, now, 10, FilterRules())

        return asyncio.run(go())

    return run


def test_standing_facts_count_decisions_reports_and_conversations_as_of_a_time(
    db: psycopg.Connection[Any], database_url: str
) -> None:
    member = _user(db, joined=T0 - timedelta(days=3))
    others = [_user(db) for _ in range(ESTABLISHED_MIN_DECISIONS + 2)]
    for other in others:
        _event(db, member, other, "like", T0 - timedelta(days=1))
    _event(db, member, others[0], "skip", T0 - timedelta(hours=1))  # same person again
    a, b, c, d = others[:4]
    _report(db, a, member, T0 - timedelta(days=2), "open")
    _report(db, b, member, T0 - timedelta(days=1), "reviewed")
    _report(db, c, member, T0 - timedelta(days=1), "dismissed")
    _report(db, d, member, T0 + timedelta(days=1), "open")  # after `now`
    _event(db, a, member, "message_sent", T0 - timedelta(days=5))
    _event(db, member, a, "message_replied", T0 - timedelta(days=4))
    _event(db, b, member, "message_sent", T0 - timedelta(days=6))
    _event(db, b, member, "message_sent", T0 - timedelta(days=5))  # the same conversation
    _event(db, member, c, "message_sent", T0 - timedelta(days=3))
    _event(db, c, member, "message_sent", T0 - timedelta(days=2))  # an answer, not an opening

    facts = _facts(database_url, [member], T0)[member]
    assert facts.decisions_made == ESTABLISHED_MIN_DECISIONS  # counted only as far as needed
    assert facts.member_since == (T0 - timedelta(days=3)).timestamp()
    assert facts.open_reports == 1
    assert facts.report_times == (
        (T0 - timedelta(days=2)).timestamp(),
        (T0 - timedelta(days=1)).timestamp(),
    )
    assert facts.conversations == (
        Conversation((T0 - timedelta(days=6)).timestamp()),
        Conversation((T0 - timedelta(days=5)).timestamp(), (T0 - timedelta(days=4)).timestamp()),
    )
    newcomer = _user(db, joined=T0)
    assert _facts(database_url, [newcomer], T0)[newcomer] == StandingFacts(
        member_since=T0.timestamp()
    )


def test_a_member_reported_repeatedly_ranks_lower_during_the_cooldown_and_recovers(
    db: psycopg.Connection[Any], ranked: Ranked
) -> None:
    her = _member(db, "woman", "man")
    reported, clean = _member(db, "man", "woman"), _member(db, "man", "woman")
    _event(db, reported, her, "like", T0 - timedelta(days=20))  # he ranks first for her
    assert _ids(ranked(her, T0 - timedelta(days=1))) == [reported, clean]

    for i in range(REPORTS_FOR_COOLDOWN):
        _report(db, _user(db), reported, T0 + timedelta(hours=i), "reviewed")
    assert _ids(ranked(her, T0 + timedelta(days=1))) == [clean, reported]
    assert _ids(ranked(her, T0 + COOLDOWN + timedelta(days=1))) == [reported, clean]


def test_a_member_who_ignores_conversations_ranks_lower_during_the_cooldown_and_recovers(
    db: psycopg.Connection[Any], ranked: Ranked
) -> None:
    her = _member(db, "woman", "man")
    ghost, clean = _member(db, "man", "woman"), _member(db, "man", "woman")
    _event(db, ghost, her, "like", T0 - timedelta(days=20))
    for i in range(IGNORED_CONVERSATIONS_FOR_COOLDOWN):
        _event(db, _user(db), ghost, "message_sent", T0 + timedelta(hours=i))
    last_ignored = T0 + timedelta(hours=IGNORED_CONVERSATIONS_FOR_COOLDOWN - 1) + REPLY_WINDOW

    assert _ids(ranked(her, last_ignored - timedelta(hours=1))) == [ghost, clean]
    assert _ids(ranked(her, last_ignored + timedelta(hours=1))) == [clean, ghost]
    assert _ids(ranked(her, last_ignored + COOLDOWN + timedelta(hours=1))) == [
        ghost,
        clean,
    ]


def test_a_new_member_meets_established_members_first_and_is_shown_to_them_first(
    db: psycopg.Connection[Any], ranked: Ranked
) -> None:
    her = _member(db, "woman", "man")  # new: no decision yet
    veteran, admirer = _member(db, "man", "woman"), _member(db, "man", "woman")
    fan = _member(db, "woman", "man")
    for _ in range(ESTABLISHED_MIN_DECISIONS):
        _event(db, veteran, _user(db), "skip", T0 - timedelta(days=10))
    # Likes make each of these the stronger match on score alone (and not new any more).
    _event(db, admirer, her, "like", T0 - timedelta(days=2))
    _event(db, fan, veteran, "like", T0 - timedelta(days=2))

    hers = ranked(her, T0)
    assert _ids(hers) == [veteran, admirer]
    assert hers[0].score < hers[1].score
    his = ranked(veteran, T0)
    assert _ids(his) == [her, fan]
    assert his[0].score < his[1].score
