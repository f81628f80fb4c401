"""`eros_scheduler_phase_open`: the lag of a phase outside its off-peak window grows by
design, so the scheduler says which phases are open, and the lag alert looks at those only."""

from __future__ import annotations

import redis

from eros.core.clock import ManualClock
from eros.core.settings import Settings
from eros.pipeline.metrics import SCHEDULER_REGISTRY
from eros.pipeline.scheduler import Scheduler

MINUTE_MS = 60_000
UTC_MIDNIGHT_MS = 1_700_006_400_000  # 2023-11-15T00:00:00Z


def _open(phase: str) -> float | None:
    return SCHEDULER_REGISTRY.get_sample_value("eros_scheduler_phase_open", {"phase": phase})


def test_a_phase_is_open_inside_its_off_peak_window_and_closed_outside(
    redis_client: redis.Redis, pipeline_settings: Settings, clock: ManualClock
) -> None:
    settings = pipeline_settings.model_copy(
        update={"phase_off_peak": [None, None, "23:00-07:00"], "off_peak_timezone": "UTC"}
    )
    scheduler = Scheduler(redis_client, settings, clock=clock)
    clock.set(UTC_MIDNIGHT_MS + 12 * 60 * MINUTE_MS)  # noon
    scheduler.tick()  # the first tick only sets the watermarks
    clock.advance(seconds=60)
    scheduler.tick()
    assert (_open("1"), _open("2"), _open("3")) == (1, 1, 0)

    clock.set(UTC_MIDNIGHT_MS + 23 * 60 * MINUTE_MS)  # the window opens
    scheduler.tick()
    assert _open("3") == 1
