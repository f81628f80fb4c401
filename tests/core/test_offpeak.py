"""Off-peak windows: local hours a phase may run in, wrapping past midnight."""

from __future__ import annotations

from datetime import time

import pytest
from pydantic import ValidationError

from eros.core.offpeak import OffPeakError, OffPeakWindow, parse_windows, time_zone
from eros.core.settings import Settings

UTC_MIDNIGHT_MS = 1_700_006_400_000  # 2023-11-15T00:00:00Z
HOUR_MS = 3_600_000


@pytest.mark.parametrize(
    ("window", "at", "inside"),
    [
        ("23:00-07:00", time(23, 0), True),
        ("23:00-07:00", time(3, 30), True),
        ("23:00-07:00", time(6, 59), True),
        ("23:00-07:00", time(7, 0), False),
        ("23:00-07:00", time(22, 59), False),
        ("01:00-05:30", time(5, 29), True),
        ("01:00-05:30", time(5, 30), False),
        ("01:00-05:30", time(0, 59), False),
    ],
)
def test_a_window_includes_its_start_and_excludes_its_end(
    window: str, at: time, inside: bool
) -> None:
    assert OffPeakWindow.parse(window).contains(at) is inside


def test_a_window_is_read_in_its_time_zone() -> None:
    window = OffPeakWindow.parse("23:00-07:00")
    noon_utc = UTC_MIDNIGHT_MS + 12 * HOUR_MS
    assert not window.contains_ms(noon_utc, time_zone("UTC"))
    # Noon UTC is 23:00 in Sydney (UTC+11 in November).
    assert window.contains_ms(noon_utc, time_zone("Australia/Sydney"))


@pytest.mark.parametrize("text", ["7-9", "25:00-01:00", "10:00-10:00", "10:60-11:00", ""])
def test_malformed_windows_are_refused(text: str) -> None:
    with pytest.raises(OffPeakError):
        OffPeakWindow.parse(text)


def test_a_phase_without_a_window_may_run_at_any_hour() -> None:
    windows = parse_windows([None, "", "23:00-07:00"])
    assert windows[:2] == [None, None]
    assert str(windows[2]) == "23:00-07:00"


def test_settings_refuse_a_bad_window_or_time_zone() -> None:
    with pytest.raises(ValidationError, match="phase_off_peak"):
        Settings(phase_off_peak=[None, None, "late"], _env_file=None)
    with pytest.raises(ValidationError, match="time zone"):
        Settings(off_peak_timezone="Mars/Olympus", _env_file=None)


def test_settings_keep_the_lease_longer_than_two_ticks_and_abandonment_after_heartbeats() -> None:
    with pytest.raises(ValidationError, match="scheduler_lease_seconds"):
        Settings(scheduler_tick_seconds=2, scheduler_lease_seconds=3, _env_file=None)
    with pytest.raises(ValidationError, match="worker_abandoned_after_seconds"):
        Settings(worker_heartbeat_seconds=10, worker_abandoned_after_seconds=10, _env_file=None)
