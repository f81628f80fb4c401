"""Idle phases: how long a user has been away decides how much work EROS may do for them."""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum

from eros.core.clock import MS_PER_SECOND

# The product's phases (docs/seeds): idle 10, 30 and 60 minutes; 5%, 15% and 100% of the
# CPU pool; the deepest phase first when the pool is contended. The ErosProcessing's
# defaults (eros.operator.spec) and the settings' defaults are both these.
DEFAULT_IDLE_SECONDS = (600, 1800, 3600)
DEFAULT_QUEUES = ("eros-phase-1", "eros-phase-2", "eros-phase-3")
DEFAULT_CPU_BUDGET_PERCENT = (5, 15, 100)
DEFAULT_PRIORITY = (3, 2, 1)


class Phase(IntEnum):
    ACTIVE = 0
    LIGHT = 1
    MEDIUM = 2
    DEEP = 3


def phase_for_idle(idle_ms: int, thresholds_seconds: Sequence[int]) -> Phase:
    """The phase of a user idle for `idle_ms`; a threshold is reached at exactly its value."""
    phase = Phase.ACTIVE
    for index, threshold in enumerate(thresholds_seconds, start=1):
        if idle_ms >= threshold * MS_PER_SECOND:
            phase = Phase(index)
    return phase


def phase_score_bounds(
    phase: Phase, thresholds_seconds: Sequence[int], now_ms: int
) -> tuple[float, float]:
    """The inclusive range of last-activity times (epoch ms) of users now in `phase`.

    A user active at `t` has idled `now - t`; being in phase i means
    `threshold_i <= now - t < threshold_{i+1}`.
    """
    bounds_ms = [0, *(t * MS_PER_SECOND for t in thresholds_seconds)]
    # Active users may carry a timestamp slightly ahead of ours (clock skew).
    newest = float("inf") if phase == Phase.ACTIVE else float(now_ms - bounds_ms[phase])
    if phase == len(thresholds_seconds):
        return float("-inf"), newest
    oldest = float(now_ms - bounds_ms[phase + 1] + 1)
    return oldest, newest
