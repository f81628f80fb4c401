"""Parsing the ErosProcessing spec: defaults, and what the operator refuses to act on."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest

from eros.core.offpeak import OffPeakWindow
from eros.operator.spec import (
    DEFAULT_PHASES,
    OffPeak,
    SpecError,
    parse_duration_seconds,
    parse_spec,
)


def test_an_empty_spec_is_the_default_three_phases() -> None:
    spec = parse_spec({})
    assert [p.name for p in spec.phases] == ["phase-1", "phase-2", "phase-3"]
    assert spec.idle_thresholds_seconds == [600, 1800, 3600]
    assert [p.queue for p in spec.phases] == ["eros-phase-1", "eros-phase-2", "eros-phase-3"]
    assert [p.cpu_budget_percent for p in spec.phases] == [5, 15, 100]
    assert spec.headroom_percent == 5
    assert spec.cpu_pool_millicores == 4000
    assert spec.priority == (3, 2, 1)
    assert not spec.paused


def test_priority_names_become_phase_numbers() -> None:
    spec = parse_spec({"priority": ["phase-2", "phase-1", "phase-3"]})
    assert spec.priority == (2, 1, 3)


@pytest.mark.parametrize(
    ("text", "seconds"), [("10m", 600), ("1h30m", 5400), ("45s", 45), ("2h", 7200)]
)
def test_durations_are_whole_seconds(text: str, seconds: int) -> None:
    assert parse_duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "10", "1.5h", "10 m", "-1m", "1d"])
def test_other_durations_are_refused(text: str) -> None:
    with pytest.raises(SpecError):
        parse_duration_seconds(text)


def test_an_off_peak_window_may_cross_midnight() -> None:
    night = OffPeak(OffPeakWindow.parse("23:00-07:00"), "UTC")
    assert night.contains(time(23)) and night.contains(time(3)) and night.contains(time(6, 59))
    assert not night.contains(time(7)) and not night.contains(time(12))
    day = OffPeak(OffPeakWindow.parse("09:00-17:00"), "UTC")
    assert day.contains(time(9)) and not day.contains(time(17)) and not day.contains(time(8))


def phases_with(index: int, **fields: Any) -> list[dict[str, Any]]:
    result = [dict(p) for p in DEFAULT_PHASES]
    result[index].update(fields)
    return result


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"phases": DEFAULT_PHASES[:2]}, "exactly 3 phases"),
        ({"phases": phases_with(1, idleAfter="5m")}, "strictly increasing"),
        ({"phases": phases_with(0, cpuBudgetPercent=120)}, "cpuBudgetPercent"),
        ({"phases": phases_with(0, minReplicas=3, maxReplicas=2)}, "minReplicas"),
        ({"phases": phases_with(0, cpuPerWorker="lots")}, "not a quantity"),
        ({"phases": phases_with(2, name="phase-1")}, "unique"),
        ({"phases": phases_with(2, name="Phase 3")}, "DNS label"),
        ({"phases": [{"name": "a"}, *DEFAULT_PHASES[1:]]}, "idleAfter is required"),
        ({"cpuPool": "100m"}, "must not exceed cpuPool"),
        ({"cpuPool": "0"}, "cpuPool must be positive"),
        ({"headroomPercent": 70}, "headroomPercent"),
        ({"priority": ["phase-1"]}, "priority"),
        ({"offPeak": {"timeZone": "Mars/Olympus"}}, "time zone"),
        ({"offPeak": {"start": "07:00", "end": "07:00"}}, "must differ"),
        ({"offPeak": {"start": "7pm"}}, "HH:MM"),
        ({"tickSeconds": 0}, "tickSeconds"),
        ({"paused": "yes"}, "paused"),
        ({"worker": {"tolerations": "all"}}, "list of objects"),
        ([], "spec must be an object"),
    ],
)
def test_specs_the_operator_cannot_act_on_are_refused(raw: Any, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        parse_spec(raw)
