"""The scheduler's selection rule as a pure function (`eros simulate` runs it too)."""

from __future__ import annotations

from eros.core.phase_config import PhaseConfig
from eros.core.phases import Phase
from eros.pipeline.scheduler import enqueue_bounds

CONFIG = PhaseConfig(
    idle_seconds=(600, 1800, 3600),
    queues=("q1", "q2", "q3"),
    windows=(None, None, None),
    time_zone="UTC",
    cpu_budget_percent=(5.0, 15.0, 100.0),
    priority=(3, 2, 1),
)


def test_a_phase_enqueues_the_users_who_crossed_since_its_watermark() -> None:
    assert enqueue_bounds(1_000_000, 1_002_000, CONFIG, Phase.LIGHT) == (400_000, 402_000)


def test_a_phase_whose_watermark_is_now_enqueues_nothing() -> None:
    assert enqueue_bounds(1_000_000, 1_000_000, CONFIG, Phase.DEEP) is None
