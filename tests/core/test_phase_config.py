"""The phase configuration the operator publishes and every component follows."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
import redis
import redis.asyncio as aredis

from eros.core.keys import PHASE_CONFIG_FOLLOWERS_KEY, PHASE_CONFIG_KEY
from eros.core.offpeak import OffPeakWindow
from eros.core.phase_config import (
    FOLLOWER_STALE_SECONDS,
    AsyncPhaseConfigFollower,
    PhaseConfig,
    PhaseConfigError,
    PhaseConfigFollower,
    decode,
    encode,
    from_settings,
    parse_followers,
    publish,
    withdraw,
)
from eros.core.phases import Phase
from eros.core.settings import Settings

NOW_MS = 1_700_000_000_000


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def published(settings: Settings) -> PhaseConfig:
    return replace(
        from_settings(settings),
        idle_seconds=(60, 120, 180),
        queues=("a", "b", "c"),
        windows=(None, None, OffPeakWindow.parse("23:00-07:00")),
        time_zone="Europe/Paris",
        source="dating/eros",
        generation=3,
    )


def test_without_an_operator_the_settings_are_the_configuration(settings: Settings) -> None:
    config = from_settings(settings)
    assert config.generation is None and config.source == "settings"
    assert config.idle_seconds == tuple(settings.phase_idle_seconds)
    assert config.queue(Phase.DEEP) == settings.phase_queues[2]
    assert config.label == "the settings' defaults"


def test_a_configuration_survives_its_encoding(published: PhaseConfig) -> None:
    assert decode(encode(published)) == published


@pytest.mark.parametrize(
    "change",
    [
        {"idle_seconds": (60, 60, 180)},
        {"queues": ("a", "", "c")},
        {"priority": (1, 1, 2)},
        {"time_zone": "Mars/Olympus"},
    ],
)
def test_a_configuration_that_cannot_be_followed_is_refused(
    published: PhaseConfig, change: dict[str, object]
) -> None:
    with pytest.raises(PhaseConfigError):
        replace(published, **change)


def test_garbage_in_redis_is_not_a_configuration() -> None:
    with pytest.raises(PhaseConfigError):
        decode('{"idleSeconds": [1]}')


def test_off_peak_windows_are_read_in_the_configurations_time_zone(
    published: PhaseConfig,
) -> None:
    paris_midnight_utc = 1_700_002_800_000  # 2023-11-15T00:00:00+01:00 is 23:00 UTC
    assert published.in_window(Phase.DEEP, paris_midnight_utc)
    assert not published.in_window(Phase.DEEP, paris_midnight_utc + 12 * 3_600_000)
    assert published.in_window(Phase.LIGHT, paris_midnight_utc + 12 * 3_600_000)


def test_a_follower_reads_the_published_configuration_at_most_once_per_interval(
    redis_client: redis.Redis, settings: Settings, published: PhaseConfig
) -> None:
    ticks = Ticks()
    follower = PhaseConfigFollower(redis_client, settings, "scheduler/a", clock=ticks)
    assert follower.current().generation is None

    publish(redis_client, published)
    assert follower.current().generation is None  # until the interval has passed
    ticks.now += 1.0
    assert follower.current() == published

    withdraw(redis_client, "dating/eros")
    ticks.now += 1.0
    assert follower.current().generation is None


def test_an_unusable_publication_keeps_what_was_followed(
    redis_client: redis.Redis, settings: Settings, published: PhaseConfig
) -> None:
    ticks = Ticks()
    publish(redis_client, published)
    follower = PhaseConfigFollower(redis_client, settings, "scheduler/a", clock=ticks)
    assert follower.current() == published
    redis_client.set(PHASE_CONFIG_KEY, "not json")
    ticks.now += 1.0
    assert follower.current() == published


def test_redis_down_keeps_what_was_followed(settings: Settings) -> None:
    dead = redis.Redis.from_url("redis://127.0.0.1:1", socket_connect_timeout=0.2)
    follower = PhaseConfigFollower(dead, settings, "scheduler/a")
    assert follower.current() == from_settings(settings)


def test_another_resources_configuration_is_not_withdrawn(
    redis_client: redis.Redis, published: PhaseConfig
) -> None:
    publish(redis_client, published)
    assert not withdraw(redis_client, "other/eros")
    assert publish(redis_client, published) is False  # unchanged
    assert withdraw(redis_client, "dating/eros")


def test_followers_report_what_they_follow_and_drop_out_when_stale(
    redis_client: redis.Redis, settings: Settings, published: PhaseConfig
) -> None:
    publish(redis_client, published)
    PhaseConfigFollower(redis_client, settings, "scheduler/a", wall_ms=lambda: NOW_MS).current()
    gone = PhaseConfigFollower(
        redis_client, settings, "worker/b", wall_ms=lambda: NOW_MS - 1000 * 61
    )
    gone.current()
    raw = redis_client.hgetall(PHASE_CONFIG_FOLLOWERS_KEY)
    followers = parse_followers(raw, NOW_MS)
    assert FOLLOWER_STALE_SECONDS == 60.0
    assert [(f.component, f.source, f.generation) for f in followers] == [
        ("scheduler/a", "dating/eros", 3)
    ]


def test_the_asyncio_follower_follows_the_same_way(
    redis_url: str, redis_client: redis.Redis, settings: Settings, published: PhaseConfig
) -> None:
    async def scenario() -> tuple[PhaseConfig, PhaseConfig]:
        client = aredis.Redis.from_url(redis_url)
        ticks = Ticks()
        follower = AsyncPhaseConfigFollower(client, settings, "api/a", clock=ticks)
        before = await follower.current()
        publish(redis_client, published)
        ticks.now += 1.0
        after = await follower.current()
        await follower.forget()
        await client.aclose()
        return before, after

    before, after = asyncio.run(scenario())
    assert before.generation is None and after == published
    assert redis_client.hget(PHASE_CONFIG_FOLLOWERS_KEY, "api/a") is None
