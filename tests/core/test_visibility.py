"""One visibility rule: a reason to hide someone, added in one place, is honoured everywhere.

The rule lives in PostgreSQL (migration 0005: the view `enabled_accounts` and the
function `visible_users(viewer)`, named in code by `eros.core.visibility`). Each test
below adds a reason the schema does not know, as a later migration would, by redefining
only the view (a suspension of an account) or only the function (a mute between two
users), and checks that profiles, recommendations, daily matches, the assistant and
interactions all stop showing the hidden man while an identical control man stays.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
import redis.asyncio as aredis

from eros.core.analysis.delivery import DailyAnswer, daily_for_date, daily_matches
from eros.core.assistant.context import load_own_context
from eros.core.clock import ManualClock, utc_from_ms
from eros.core.database import AsyncPool, async_pool
from eros.core.interactions import (
    EventKind,
    InteractionEvent,
    RejectedEvent,
    RejectReason,
    record_batch,
)
from eros.core.matching import FilterRules
from eros.core.profile_cache import visible_profile
from eros.core.profiles import Gender, Profile, save_profile
from eros.core.recommendation_inputs import load_inputs
from eros.core.recommendations import compute_recommendations, recommendations_for
from eros.core.redis_client import async_redis
from eros.core.settings import Settings
from eros.core.visibility import enabled_flag_sql, enabled_sql, visible_flag_sql, visible_sql

TTL_SECONDS = 3600
CHEAP_CAP = 300
HIDDEN_MARKERS = ("Hidalgo", "QZ9-HIDDEN")


@dataclass(frozen=True)
class HidingReason:
    """A reason to hide that the schema did not have; `hide` applies it to a pair."""

    db: psycopg.Connection[Any]
    kind: str

    def hide(self, viewer: UUID, target: UUID) -> None:
        if self.kind == "suspension":
            self.db.execute("INSERT INTO test_suspensions (user_id) VALUES (%s)", (target,))
        else:
            self.db.execute(
                "INSERT INTO test_mutes (muter_id, muted_id) VALUES (%s, %s)", (viewer, target)
            )


def _suspensions(db: psycopg.Connection[Any]) -> None:
    """An account-level reason: a suspended account is hidden from everyone."""
    db.execute("CREATE TABLE test_suspensions (user_id uuid PRIMARY KEY)")
    current = db.execute("SELECT pg_get_viewdef('enabled_accounts'::regclass)").fetchone()
    assert current is not None
    db.execute(
        "CREATE OR REPLACE VIEW enabled_accounts AS SELECT e.user_id FROM ("
        + current[0].strip().rstrip(";")
        + ") e WHERE NOT EXISTS (SELECT 1 FROM test_suspensions s WHERE s.user_id = e.user_id)"
    )


def _mutes(db: psycopg.Connection[Any]) -> None:
    """A pair-level reason: a mute hides the two users from each other, like a block."""
    db.execute("CREATE TABLE test_mutes (muter_id uuid NOT NULL, muted_id uuid NOT NULL)")
    current = db.execute("SELECT prosrc FROM pg_proc WHERE proname = 'visible_users'").fetchone()
    assert current is not None
    db.execute(
        "CREATE OR REPLACE FUNCTION visible_users(viewer uuid) RETURNS TABLE (user_id uuid) "
        "LANGUAGE sql STABLE PARALLEL SAFE AS $rule$ SELECT r.user_id FROM ("
        + current[0].strip().rstrip(";")
        + ") r WHERE NOT EXISTS (SELECT 1 FROM test_mutes m "
        "WHERE (m.muter_id = viewer AND m.muted_id = r.user_id) "
        "OR (m.muter_id = r.user_id AND m.muted_id = viewer)) $rule$"
    )


@pytest.fixture(params=["suspension", "mute"])
def hiding_reason(
    request: pytest.FixtureRequest, db: psycopg.Connection[Any]
) -> Iterator[HidingReason]:
    view = db.execute("SELECT pg_get_viewdef('enabled_accounts'::regclass)").fetchone()
    function = db.execute("SELECT pg_get_functiondef('visible_users'::regproc)").fetchone()
    assert view is not None and function is not None
    try:
        (_suspensions if request.param == "suspension" else _mutes)(db)
        yield HidingReason(db, request.param)
    finally:
        # The database is shared by the whole session: put the migration's rule back.
        db.execute("CREATE OR REPLACE VIEW enabled_accounts AS " + view[0])
        db.execute(function[0])
        db.execute("DROP TABLE IF EXISTS test_suspensions, test_mutes")


def _person(
    db: psycopg.Connection[Any], name: str, gender: Gender, seeks: Gender, bio: str = ""
) -> Profile:
    user_id = uuid4()
    db.execute(
        "INSERT INTO users (id, email, password_hash, name) VALUES (%s, %s, 'unusable', %s)",
        (user_id, f"{user_id}@example.com", name),
    )
    return Profile(
        user_id=user_id,
        display_name=name,
        birth_date=date(1994, 5, 1),
        gender=gender,
        genders_sought=(seeks,),
        bio=bio,
        latitude=52.52,
        longitude=13.405,
        city="Berlin",
        max_distance_km=50,
        interests={"hiking": 70},
    )


@dataclass(frozen=True)
class World:
    """A woman, two men who suit her equally, the PostgreSQL pool and Redis; `hidden` is
    the man the reason will hide, `control` the one it leaves alone."""

    reason: HidingReason
    pool: AsyncPool
    redis: aredis.Redis
    now_ms: int
    viewer: UUID
    hidden: UUID
    control: UUID

    @property
    def both(self) -> set[UUID]:
        return {self.hidden, self.control}

    def hide(self) -> None:
        self.reason.hide(self.viewer, self.hidden)

    async def public_profile(self, user_id: UUID) -> Profile | None:
        return await visible_profile(self.pool, self.redis, self.viewer, user_id, TTL_SECONDS)

    async def recommended(self) -> set[UUID]:
        found = await recommendations_for(
            self.pool, self.redis, self.viewer, self.now_ms, 10, CHEAP_CAP
        )
        return {match.user_id for match, _ in found.items}

    async def compute_recommendations(self) -> None:
        """What the workers' job does after a cache miss: fill the cache."""
        async with self.pool.connection() as conn:
            await compute_recommendations(conn, self.redis, self.viewer, self.now_ms, TTL_SECONDS)

    async def daily(self) -> set[UUID]:
        """The day's matches as served; the set computed is in `answer.daily`."""
        return {match.candidate_id for match, _ in (await self.daily_answer()).items}

    async def daily_answer(self) -> DailyAnswer:
        return await daily_matches(self.pool, self.redis, self.viewer, self.now_ms, TTL_SECONDS)

    async def matcher_pool(self) -> set[UUID]:
        """Whom the recommendation computation scores (before serving filters again)."""
        now = utc_from_ms(self.now_ms)
        async with self.pool.connection() as conn:
            inputs = await load_inputs(conn, self.redis, self.viewer, now, FilterRules())
        assert inputs is not None
        return set(inputs.user_ids) - {self.viewer}


Scenario = Callable[[World], Awaitable[None]]
Runner = Callable[[Scenario], None]


@pytest.fixture
def in_world(
    hiding_reason: HidingReason,
    db: psycopg.Connection[Any],
    settings: Settings,
    clock: ManualClock,
    redis_client: Any,  # an empty Redis: no cached lists from other tests
) -> Runner:
    profiles = [
        _person(db, "Sofia", Gender.WOMAN, Gender.MAN),
        _person(
            db, HIDDEN_MARKERS[0], Gender.MAN, Gender.WOMAN, bio=f"Secret: {HIDDEN_MARKERS[1]}."
        ),
        _person(db, "Carlos", Gender.MAN, Gender.WOMAN),
    ]

    async def run(scenario: Scenario) -> None:
        pool = async_pool(settings)
        await pool.open()
        client = async_redis(settings.redis_url)
        try:
            async with pool.connection() as conn:
                for profile in profiles:
                    await save_profile(conn, profile, utc_from_ms(clock.now_ms()))
            viewer, hidden, control = (p.user_id for p in profiles)
            await scenario(
                World(hiding_reason, pool, client, clock.now_ms(), viewer, hidden, control)
            )
        finally:
            await client.aclose()
            await pool.close()

    return lambda scenario: asyncio.run(run(scenario))


def test_the_public_profile_hides_the_user_at_once_though_cached(in_world: Runner) -> None:
    async def scenario(world: World) -> None:
        assert await world.public_profile(world.hidden) is not None  # now cached
        world.hide()
        assert await world.public_profile(world.hidden) is None
        assert await world.public_profile(world.control) is not None

    in_world(scenario)


def test_cached_recommendations_drop_the_user(in_world: Runner) -> None:
    async def scenario(world: World) -> None:
        await world.compute_recommendations()
        assert await world.recommended() == world.both
        world.hide()
        assert await world.recommended() == {world.control}

    in_world(scenario)


def test_computed_recommendations_leave_the_user_out(in_world: Runner) -> None:
    async def scenario(world: World) -> None:
        world.hide()
        assert await world.matcher_pool() == {world.control}
        assert await world.recommended() == {world.control}

    in_world(scenario)


def test_cached_and_stored_daily_matches_drop_the_user(in_world: Runner) -> None:
    async def scenario(world: World) -> None:
        # The first read delivers the set: cached with the men's profiles, and stored.
        assert await world.daily() == world.both
        world.hide()
        assert await world.daily() == {world.control}
        today = utc_from_ms(world.now_ms).date()
        stored = await daily_for_date(world.pool, world.viewer, today)
        assert stored is not None
        assert {match.candidate_id for match, _ in stored.items} == {world.control}

    in_world(scenario)


def test_computed_daily_matches_leave_the_user_out(in_world: Runner) -> None:
    async def scenario(world: World) -> None:
        world.hide()
        answer = await world.daily_answer()
        assert answer.source == "computed"
        assert {match.candidate_id for match in answer.daily.matches} == {world.control}
        assert {match.candidate_id for match, _ in answer.items} == {world.control}

    in_world(scenario)


def test_the_assistant_shows_nothing_of_the_user(in_world: Runner) -> None:
    """The assistant reads no user but the caller (docs/assistant.md), so the rule holds
    by construction; this pins it, should it ever read matches or other profiles."""

    async def scenario(world: World) -> None:
        world.hide()
        context = await load_own_context(world.pool, world.viewer)
        prompt = "\n".join(context.prompt_lines())
        assert "Sofia" in prompt
        assert not any(marker in prompt for marker in HIDDEN_MARKERS)

    in_world(scenario)


def test_interactions_with_the_user_are_refused(in_world: Runner) -> None:
    async def scenario(world: World) -> None:
        world.hide()
        at = utc_from_ms(world.now_ms)
        events = [
            InteractionEvent(world.hidden, EventKind.LIKE, at),
            InteractionEvent(world.control, EventKind.LIKE, at),
        ]
        async with world.pool.connection() as conn:
            outcome = await record_batch(conn, world.viewer, events, at)
        assert outcome.rejected == (RejectedEvent(0, RejectReason.TARGET_UNAVAILABLE),)
        assert outcome.accepted == 1

    in_world(scenario)


@pytest.mark.parametrize(
    "query",
    [
        f"SELECT p.user_id FROM profiles p WHERE {visible_sql('%(viewer)s', 'p.user_id')}",
        f"SELECT p.user_id FROM profiles p WHERE {enabled_sql('p.user_id')}",
        f"SELECT {visible_flag_sql('%(viewer)s', 'p.user_id')} FROM profiles p",
        f"SELECT {enabled_flag_sql('p.user_id')} FROM profiles p",
    ],
    ids=["visible", "enabled", "visible flag", "enabled flag"],
)
def test_the_rule_is_inlined_into_the_queries_that_use_it(
    db: psycopg.Connection[Any], query: str
) -> None:
    """A rule the planner cannot inline runs as a function call per row (as a scalar
    function it made the recommendation query about three times slower)."""
    rows = db.execute(f"EXPLAIN {query}", {"viewer": uuid4()})
    plan = "\n".join(row[0] for row in rows.fetchall())
    assert "Function Scan" not in plan
    assert "visible_users" not in plan
