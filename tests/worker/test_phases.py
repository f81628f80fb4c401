"""The phases' work on constructed histories, through the pipeline's real `RunContext`."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Mapping
from typing import Any
from uuid import UUID

import psycopg
import pytest
import redis
from fastapi.testclient import TestClient
from pydantic import SecretStr

from eros.core.candidate_pool import PoolKeeper
from eros.core.clock import ManualClock
from eros.core.keys import checkpoint_key, daily_matches_cache_key, favourites_cache_key, halt_key
from eros.core.llm import AsyncClaudeClient, analysis_client
from eros.core.phases import Phase
from eros.core.settings import Settings
from eros.pipeline.queue import JobKey
from eros.worker import stop
from eros.worker.context import RunContext
from eros.worker.phases import DeepPhase, LightPhase, MediumPhase, register_work
from eros.worker.work import JobHalted, WorkRegistry
from tests.fake_anthropic import FakeAnthropic, Reply
from tests.pipeline.fixtures import wait_until
from tests.worker.analysis_support import act, earlier, people, run_phase

CLAUDE_TIMEOUT_SECONDS = 0.3


@pytest.fixture(autouse=True)
def _no_stop_request() -> Iterator[None]:
    stop.reset()
    yield
    stop.reset()


@pytest.fixture
def fast(settings: Settings) -> Settings:
    # Every safe point writes its checkpoint and polls, so a halt lands where a test puts it.
    return settings.model_copy(update={"checkpoint_cpu_seconds": 1e-9, "halt_poll_seconds": 1e-9})


def _patterns(db: psycopg.Connection[Any], user: str) -> dict[tuple[str, str], tuple[Any, ...]]:
    rows = db.execute(
        "SELECT kind, feature, weight, evidence, confidence FROM learned_patterns "
        "WHERE user_id = %s",
        (user,),
    ).fetchall()
    return {(r[0], r[1]): tuple(r[2:]) for r in rows}


def _daily(db: psycopg.Connection[Any], user: str) -> list[tuple[Any, ...]]:
    return db.execute(
        "SELECT match_date, rank, candidate_id, score, reasons FROM daily_matches "
        "WHERE user_id = %s ORDER BY match_date, rank",
        (user,),
    ).fetchall()


def _liker_of_hikers(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock, hikers: int = 6
) -> tuple[Any, list[Any], list[Any], int]:
    viewer, hiker_list, gamers = people(client, db, clock, hikers, 6)
    for i, hiker in enumerate(hiker_list):
        act(db, viewer, hiker, "like", earlier(clock, 50 - i))
    for i, gamer in enumerate(gamers):
        act(db, viewer, gamer, "skip", earlier(clock, 40 - i))
    act(db, viewer, hiker_list[0], "message_sent", earlier(clock, 20))
    return viewer, hiker_list, gamers, earlier(clock, 10)


def test_the_default_work_module_registers_all_three_phases() -> None:
    registry = WorkRegistry()
    register_work(registry)
    assert registry.phases() == [Phase.LIGHT, Phase.MEDIUM, Phase.DEEP]


def test_the_light_phase_caches_favourites_and_a_summary_for_an_hour(
    client: TestClient, db: Any, clock: ManualClock, redis_client: redis.Redis, fast: Settings
) -> None:
    viewer, hikers, gamers, idle = _liker_of_hikers(client, db, clock)
    result = run_phase(LightPhase(), redis_client, fast, viewer, Phase.LIGHT, idle)
    assert result == {"favourites": len(hikers)}
    cached = json.loads(redis_client.get(favourites_cache_key(UUID(viewer.id))) or b"{}")
    assert {f["user_id"] for f in cached["favourites"]} == {h.id for h in hikers}
    assert cached["summary"]["skip"] == len(gamers)
    assert 3000 < redis_client.ttl(favourites_cache_key(UUID(viewer.id))) <= 3600


def test_a_user_who_likes_only_hikers_learns_a_hiking_weight_surer_than_a_newcomers(
    client: TestClient, db: Any, clock: ManualClock, redis_client: redis.Redis, fast: Settings
) -> None:
    veteran, _, _, idle = _liker_of_hikers(client, db, clock, hikers=6)
    newcomer, few, _ = people(client, db, clock, 1, 0)
    act(db, newcomer, few[0], "like", earlier(clock, 30))
    run_phase(MediumPhase(), redis_client, fast, veteran, Phase.MEDIUM, idle)
    run_phase(MediumPhase(), redis_client, fast, newcomer, Phase.MEDIUM, idle)
    old = _patterns(db, veteran.id)
    new = _patterns(db, newcomer.id)
    weight, evidence, confidence = old[("favourite", "interest:hiking")]
    assert weight > 0.9 and evidence == 6
    assert old[("favourite", "interest:gaming")][0] < 0
    assert confidence > new[("favourite", "interest:hiking")][2] > 0
    assert old[("message", "stat:messaged_share")][0] == pytest.approx(1 / 6, abs=1e-6)


def test_block_patterns_become_dealbreakers_and_steer_daily_matches_away(
    client: TestClient, db: Any, clock: ManualClock, redis_client: redis.Redis, fast: Settings
) -> None:
    viewer, hikers, gamers = people(client, db, clock, 3, 5)
    for gamer in gamers[:3]:
        db.execute(
            "INSERT INTO blocks (blocker_id, blocked_id, source) VALUES (%s, %s, 'manual')",
            (viewer.id, gamer.id),
        )
    for hiker in hikers:
        act(db, viewer, hiker, "like", earlier(clock, 30))
    idle = earlier(clock, 10)
    run_phase(MediumPhase(), redis_client, fast, viewer, Phase.MEDIUM, idle)
    deep = DeepPhase(clock=clock.now_ms, client_factory=lambda _: None)
    result = run_phase(deep, redis_client, fast, viewer, Phase.DEEP, idle)
    assert result is not None and result["preferences"] == "rules"
    prefs = db.execute(
        "SELECT preferences FROM ultimate_preferences WHERE user_id = %s", (viewer.id,)
    ).fetchone()[0]
    assert "interest:gaming" in prefs["dealbreakers"]
    # Unblocked gamers are left out too: they have the dealbreaker; blocked ones always are.
    assert {str(r[2]) for r in _daily(db, viewer.id)}.isdisjoint({g.id for g in gamers})


def test_the_deep_phase_stores_and_caches_ten_matches_and_clears_the_reanalysis_flag(
    client: TestClient, db: Any, clock: ManualClock, redis_client: redis.Redis, fast: Settings
) -> None:
    viewer, _, _ = people(client, db, clock, 8, 6)
    idle = earlier(clock, 10)
    deep = DeepPhase(clock=clock.now_ms, client_factory=lambda _: None)
    run_phase(MediumPhase(), redis_client, fast, viewer, Phase.MEDIUM, idle)
    run_phase(deep, redis_client, fast, viewer, Phase.DEEP, idle)
    daily = _daily(db, viewer.id)
    assert [r[1] for r in daily] == list(range(1, 11))
    assert all(r[4] for r in daily)  # every match has reasons
    cached = json.loads(redis_client.get(daily_matches_cache_key(UUID(viewer.id))) or b"{}")
    assert [m["candidate_id"] for m in cached["daily"]["matches"]] == [str(r[2]) for r in daily]
    assert redis_client.ttl(daily_matches_cache_key(UUID(viewer.id))) > 23 * 3600
    flag = db.execute(
        "SELECT analysis_requested_at FROM profiles WHERE user_id = %s", (viewer.id,)
    ).fetchone()[0]
    assert flag is None
    # A rerun of the same idle period writes the same thing, without duplicates.
    run_phase(deep, redis_client, fast, viewer, Phase.DEEP, idle)
    assert _daily(db, viewer.id) == daily


def test_the_deep_phase_warms_its_pool_in_the_worker_process_for_the_jobs_to_come(
    client: TestClient, db: Any, clock: ManualClock, redis_client: redis.Redis, fast: Settings
) -> None:
    viewer, _, _ = people(client, db, clock, 4, 4)
    keeper = PoolKeeper(clock=lambda: 0.0)  # never stale: a reload would be a second load
    deep = DeepPhase(clock=clock.now_ms, client_factory=lambda _: None, pools=keeper)
    deep.warm_worker_process(fast)
    warmed = keeper.pool
    assert warmed is not None
    result = run_phase(deep, redis_client, fast, viewer, Phase.DEEP, earlier(clock, 10))
    assert result is not None and result["matches"] > 0
    assert keeper.pool is warmed


def test_warming_a_fresh_pool_touches_no_database(
    client: TestClient, db: Any, clock: ManualClock, fast: Settings
) -> None:
    people(client, db, clock, 2, 2)
    keeper = PoolKeeper(clock=lambda: 0.0)
    deep = DeepPhase(clock=clock.now_ms, client_factory=lambda _: None, pools=keeper)
    deep.warm_worker_process(fast)
    # Port 9 (discard) refuses connections: a second warm that connected would raise.
    unreachable = fast.model_copy(update={"database_url": "postgresql://127.0.0.1:9/eros"})
    deep.warm_worker_process(unreachable)
    assert keeper.pool is not None


class _HaltAt(RunContext):
    """Raises the halt flag just before the n-th safe point, as a heartbeat would."""

    halt_at = 1

    async def checkpoint(self, state: Mapping[str, Any]) -> None:
        type(self).halt_at -= 1
        if type(self).halt_at == 0:
            await self.redis.set(halt_key(self.job_id), 1)
        await super().checkpoint(state)


def _forget(db: psycopg.Connection[Any], user: str) -> None:
    for table in ("learned_patterns", "ultimate_preferences", "daily_match_sets"):
        db.execute(f"DELETE FROM {table} WHERE user_id = %s", (user,))


# The deep phase's first safe point pins its time; its second follows the preferences.
@pytest.mark.parametrize(("phase", "halt_at"), [(Phase.MEDIUM, 2), (Phase.DEEP, 2)])
def test_a_phase_halted_midway_and_resumed_gives_the_uninterrupted_result(
    client: TestClient,
    db: Any,
    clock: ManualClock,
    redis_client: redis.Redis,
    fast: Settings,
    phase: Phase,
    halt_at: int,
) -> None:
    viewer, _, _, idle = _liker_of_hikers(client, db, clock)
    people(client, db, clock, 6, 6)  # undecided men: candidates for the daily matches
    work = {
        Phase.MEDIUM: MediumPhase(),
        Phase.DEEP: DeepPhase(clock=clock.now_ms, client_factory=lambda _: None),
    }
    if phase is Phase.DEEP:
        run_phase(MediumPhase(), redis_client, fast, viewer, Phase.MEDIUM, idle)
    run_phase(work[phase], redis_client, fast, viewer, phase, idle)
    expected = (_patterns(db, viewer.id), _daily(db, viewer.id))
    _forget(db, viewer.id)
    if phase is Phase.DEEP:  # the deep phase reads the patterns the medium one learns
        run_phase(MediumPhase(), redis_client, fast, viewer, Phase.MEDIUM, idle)
    _HaltAt.halt_at = halt_at
    with pytest.raises(JobHalted):
        run_phase(work[phase], redis_client, fast, viewer, phase, idle, _HaltAt)
    stop.reset()
    redis_client.delete(*redis_client.keys("eros:halt:*"))
    assert (_patterns(db, viewer.id), _daily(db, viewer.id)) != expected
    clock.advance(seconds=600)  # a later run must still use the pinned time
    run_phase(work[phase], redis_client, fast, viewer, phase, idle)
    assert (_patterns(db, viewer.id), _daily(db, viewer.id)) == expected


def _claude_settings(fast: Settings, fake: FakeAnthropic) -> Settings:
    return fast.model_copy(
        update={
            "anthropic_api_key": SecretStr("test-key"),
            "anthropic_base_url": fake.url,
            "anthropic_timeout_seconds": CLAUDE_TIMEOUT_SECONDS,
            "anthropic_max_retries": 0,
        }
    )


def _deep_with(clock: ManualClock) -> DeepPhase:
    def factory(s: Settings) -> AsyncClaudeClient | None:
        return analysis_client(s)

    return DeepPhase(clock=clock.now_ms, client_factory=factory)


def test_claude_writes_the_preferences_once_a_day_and_only_from_the_users_own_data(
    client: TestClient, db: Any, clock: ManualClock, redis_client: redis.Redis, fast: Settings
) -> None:
    viewer, _, gamers, idle = _liker_of_hikers(client, db, clock)
    run_phase(MediumPhase(), redis_client, fast, viewer, Phase.MEDIUM, idle)
    answer = {
        "summary": "Outdoorsy.",
        "weights": {"interest:hiking": 0.9, "interest:invented": 1.0},
        "dealbreakers": ["interest:gaming"],
        "confidence": 0.6,
    }
    with FakeAnthropic(default=Reply.json(answer)) as fake:
        settings = _claude_settings(fast, fake)
        result = run_phase(_deep_with(clock), redis_client, settings, viewer, Phase.DEEP, idle)
        assert result is not None and result["preferences"] == "claude"
        assert len(fake.requests) == 1
        assert gamers[0].id not in fake.prompts()  # features only, never other users' ids
        # A new idle period the same day: the budget is spent, so the rules answer.
        later = run_phase(_deep_with(clock), redis_client, settings, viewer, Phase.DEEP, idle + 1)
        assert later is not None and later["preferences"] == "rules"
        assert len(fake.requests) == 1
    prefs = db.execute(
        "SELECT preferences FROM ultimate_preferences WHERE user_id = %s", (viewer.id,)
    ).fetchone()[0]
    assert "interest:invented" not in prefs["weights"]


@pytest.mark.parametrize(
    "reply",
    [Reply.hanging(), Reply.message("not json at all"), Reply.json({"summary": 3})],
    ids=["timeout", "malformed", "schema"],
)
def test_a_failed_claude_call_falls_back_to_the_rules(
    client: TestClient,
    db: Any,
    clock: ManualClock,
    redis_client: redis.Redis,
    fast: Settings,
    reply: Reply,
) -> None:
    viewer, _, _, idle = _liker_of_hikers(client, db, clock)
    people(client, db, clock, 6, 6)
    run_phase(MediumPhase(), redis_client, fast, viewer, Phase.MEDIUM, idle)
    with FakeAnthropic(default=reply) as fake:
        settings = _claude_settings(fast, fake)
        result = run_phase(_deep_with(clock), redis_client, settings, viewer, Phase.DEEP, idle)
    assert result is not None and result["preferences"] == "rules"
    assert result["matches"] == 10


@pytest.mark.parametrize("how", ["signal", "poll"])
def test_a_halt_while_claude_is_thinking_abandons_the_request_and_keeps_the_pinned_time(
    client: TestClient,
    db: Any,
    clock: ManualClock,
    redis_client: redis.Redis,
    fast: Settings,
    how: str,
) -> None:
    viewer, _, _, idle = _liker_of_hikers(client, db, clock)
    run_phase(MediumPhase(), redis_client, fast, viewer, Phase.MEDIUM, idle)
    # Claude would answer well after the halt, if ever; the job must not wait for it.
    with FakeAnthropic(default=Reply.hanging()) as fake:
        settings = _claude_settings(fast, fake).model_copy(
            update={"anthropic_timeout_seconds": 60.0, "halt_poll_seconds": 0.05}
        )

        def halt_once_asked() -> None:
            wait_until(lambda: fake.requests, what="the Claude request")
            if how == "signal":
                os.kill(os.getpid(), stop.HALT_SIGNAL)  # what the worker sends its horse
            else:  # the stop-job message was lost: only the halt flag is left
                job = JobKey(UUID(viewer.id), Phase.DEEP, idle)
                redis_client.set(halt_key(job.id), clock.now_ms())

        halter = threading.Thread(target=halt_once_asked, daemon=True)
        halter.start()
        with pytest.raises(JobHalted) as halted:
            run_phase(_deep_with(clock), redis_client, settings, viewer, Phase.DEEP, idle)
        halter.join()
    assert halted.value.via == how
    assert len(fake.requests) == 1
    # Had the job waited for the reply, it would have saved preferences from the rules.
    assert (
        db.execute("SELECT 1 FROM ultimate_preferences WHERE user_id = %s", (viewer.id,)).fetchone()
        is None
    )
    saved = json.loads(redis_client.get(checkpoint_key(int(Phase.DEEP), UUID(viewer.id))) or b"{}")
    assert saved["state"] == {"now_ms": clock.now_ms()}
