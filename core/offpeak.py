"""Off-peak windows: the hours of the day a phase may run in, such as `23:00-07:00`.

A window is local wall-clock time in one time zone; it may wrap past midnight. The
start is included and the end excluded, so `23:00-07:00` admits 23:00:00 and 06:59:59.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MINUTES_PER_DAY = 24 * 60
_WINDOW = re.compile(r"^\s*(\d{2}):(\d{2})\s*-\s*(\d{2}):(\d{2})\s*$")


class OffPeakError(ValueError):
    """A window or time zone that cannot be understood."""


def _minutes(hours: str, minutes: str, text: str) -> int:
    h, m = int(hours), int(minutes)
    if h > 23 or m > 59:
        raise OffPeakError(f"{text!r} is not a valid time window (HH:MM-HH:MM)")
    return h * 60 + m


@dataclass(frozen=True, slots=True)
class OffPeakWindow:
    """Minutes after local midnight: `start` included, `end` excluded."""

    start_minute: int
    end_minute: int

    @classmethod
    def parse(cls, text: str) -> OffPeakWindow:
        match = _WINDOW.match(text)
        if match is None:
            raise OffPeakError(f"{text!r} is not a valid time window (HH:MM-HH:MM)")
        start = _minutes(match[1], match[2], text)
        end = _minutes(match[3], match[4], text)
        if start == end:
            raise OffPeakError(f"{text!r} is empty; leave the window unset to allow all hours")
        return cls(start, end)

    def contains(self, local: time) -> bool:
        minute = local.hour * 60 + local.minute
        if self.start_minute < self.end_minute:
            return self.start_minute <= minute < self.end_minute
        return minute >= self.start_minute or minute < self.end_minute

    def contains_ms(self, now_ms: int, zone: tzinfo) -> bool:
        return self.contains(datetime.fromtimestamp(now_ms / 1000, tz=zone).time())

    def __str__(self) -> str:
        start, end = divmod(self.start_minute, 60), divmod(self.end_minute, 60)
        return f"{start[0]:02d}:{start[1]:02d}-{end[0]:02d}:{end[1]:02d}"


def time_zone(name: str) -> tzinfo:
    """An IANA time zone; `UTC` needs no time-zone database."""
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise OffPeakError(f"unknown time zone {name!r}") from exc


def parse_windows(texts: list[str | None]) -> list[OffPeakWindow | None]:
    """One optional window per phase; `None` or an empty string allows all hours."""
    return [OffPeakWindow.parse(text) if text else None for text in texts]
