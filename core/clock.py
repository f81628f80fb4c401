"""Time as a dependency, so that idle thresholds can be tested at their exact boundaries."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol

MS_PER_SECOND = 1000


def wall_ms() -> int:
    """Wall-clock time in epoch milliseconds, for code that takes no injected clock."""
    return time.time_ns() // 1_000_000


def utc_from_ms(ms: int) -> datetime:
    """An aware UTC datetime from epoch milliseconds, the unit every clock here speaks."""
    return datetime.fromtimestamp(ms / MS_PER_SECOND, tz=UTC)


class Clock(Protocol):
    def now_ms(self) -> int:
        """Wall-clock time in epoch milliseconds."""
        ...


class SystemClock:
    def now_ms(self) -> int:
        return wall_ms()


class ManualClock:
    """A clock that only moves when told to."""

    def __init__(self, now_ms: int = 1_700_000_000_000) -> None:
        self._now_ms = now_ms

    def now_ms(self) -> int:
        return self._now_ms

    def set(self, now_ms: int) -> None:
        self._now_ms = now_ms

    def advance(self, *, seconds: float = 0, ms: int = 0) -> None:
        self._now_ms += int(seconds * MS_PER_SECOND) + ms
