import pytest

from eros.cli.supervision import (
    FIRST_RESTART_DELAY_SECONDS,
    MAX_RESTART_DELAY_SECONDS,
    STABLE_UPTIME_SECONDS,
    crashes_after,
    restart_delay,
)


def test_the_first_restart_waits_the_first_delay() -> None:
    assert restart_delay(1) == FIRST_RESTART_DELAY_SECONDS


def test_each_further_crash_doubles_the_delay() -> None:
    assert restart_delay(3) == 4 * FIRST_RESTART_DELAY_SECONDS


def test_the_delay_never_exceeds_the_maximum() -> None:
    assert restart_delay(1000) == MAX_RESTART_DELAY_SECONDS


def test_a_crash_count_below_one_is_rejected() -> None:
    with pytest.raises(ValueError):
        restart_delay(0)


def test_a_quick_crash_adds_to_the_count() -> None:
    assert crashes_after(2, uptime_seconds=1.0) == 3


def test_a_crash_after_a_stable_run_starts_the_count_again() -> None:
    assert crashes_after(5, uptime_seconds=STABLE_UPTIME_SECONDS) == 1
