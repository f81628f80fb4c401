"""What the daemons report to `/healthz`: tick ages, stuck daemons and problems to fix."""

from __future__ import annotations

import pytest

from eros.operator.runtime import STALE_MARGIN_SECONDS, STALE_TICKS, Heartbeats, StuckDaemon


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_daemon_that_stops_ticking_fails_the_probe() -> None:
    clock = Clock()
    heartbeats = Heartbeats(clock=clock)
    heartbeats.beat("dating", "eros", tick_seconds=5)
    clock.now += 5 * STALE_TICKS + STALE_MARGIN_SECONDS + 1
    with pytest.raises(StuckDaemon, match="dating/eros"):
        heartbeats.check()


def test_a_problem_is_listed_until_a_tick_without_it() -> None:
    heartbeats = Heartbeats(clock=Clock())
    heartbeats.beat("dating", "eros", 5, "SecretForbidden: may not get Secret dating/eros-redis.")
    assert heartbeats.problems() == {
        "dating/eros": "SecretForbidden: may not get Secret dating/eros-redis."
    }
    heartbeats.beat("dating", "eros", 5)
    assert heartbeats.problems() == {}


def test_a_forgotten_resource_reports_nothing() -> None:
    heartbeats = Heartbeats(clock=Clock())
    heartbeats.beat("dating", "eros", 5, "InvalidSpec: phases must list exactly 3 phases")
    heartbeats.forget("dating", "eros")
    assert heartbeats.problems() == {} and heartbeats.check() == {}
