from __future__ import annotations

import pytest

from eros.core.phases import Phase, phase_for_idle, phase_score_bounds

THRESHOLDS = [600, 1800, 3600]
MINUTE_MS = 60_000


@pytest.mark.parametrize(
    ("idle_ms", "phase"),
    [
        (0, Phase.ACTIVE),
        (10 * MINUTE_MS - 1, Phase.ACTIVE),
        (10 * MINUTE_MS, Phase.LIGHT),
        (30 * MINUTE_MS - 1, Phase.LIGHT),
        (30 * MINUTE_MS, Phase.MEDIUM),
        (60 * MINUTE_MS - 1, Phase.MEDIUM),
        (60 * MINUTE_MS, Phase.DEEP),
        (10_000 * MINUTE_MS, Phase.DEEP),
    ],
)
def test_a_threshold_is_reached_at_exactly_its_value(idle_ms: int, phase: Phase) -> None:
    assert phase_for_idle(idle_ms, THRESHOLDS) is phase


def test_phase_bounds_partition_the_timeline_without_gaps_or_overlaps() -> None:
    now = 10_000_000_000
    bounds = [phase_score_bounds(p, THRESHOLDS, now) for p in Phase]
    for t in range(now - 4000 * 1000, now + 1, 997):
        containing = [p for p, (low, high) in zip(Phase, bounds, strict=True) if low <= t <= high]
        assert containing == [phase_for_idle(now - t, THRESHOLDS)]


def test_a_timestamp_slightly_in_the_future_counts_as_active() -> None:
    _, high = phase_score_bounds(Phase.ACTIVE, THRESHOLDS, 1000)
    assert high == float("inf")
