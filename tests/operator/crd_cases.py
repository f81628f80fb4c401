"""Good and bad ErosProcessing resources, checked both by the Python model of the API
server (`test_crd.py`) and by the real API server (`test_crd_on_server.py`)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eros.operator.spec import DEFAULT_PHASES

# Internals of the API server's validation an ops person should never have to read.
LEAKED_INTERNALS = (
    "must match the regular expression",
    "index out of bounds",
    "no such key",
    "evaluating rule",
    "type conversion error",
    "in body should match",
)


def resource(spec: Mapping[str, Any] | None = None, name: str = "eros") -> dict[str, Any]:
    return {
        "apiVersion": "eros.dev/v1alpha1",
        "kind": "ErosProcessing",
        "metadata": {"name": name, "namespace": "eros"},
        "spec": copy.deepcopy(dict(spec or {})),
    }


def phases(**changes: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The default phases with some fields changed, by phase index (`p0`, `p1`, `p2`)."""
    result = [dict(p) for p in DEFAULT_PHASES]
    for key, fields in changes.items():
        result[int(key[1:])].update(fields)
    return result


def phases_without(index: int, field: str) -> list[dict[str, Any]]:
    result = phases()
    del result[index][field]
    return result


@dataclass(frozen=True)
class Invalid:
    """A spec the API server rejects, and what its answer must say.

    `local` is what the Python model says where its wording differs (jsonschema's own
    messages for the OpenAPI keywords, which the server words differently); `alone`, that
    the server reports this one error and no knock-on error of other rules.
    """

    spec: Mapping[str, Any]
    message: str
    local: str | None = None
    alone: bool = False

    @property
    def local_message(self) -> str:
        return self.local or self.message


GOOD: dict[str, Mapping[str, Any]] = {
    "empty spec": {},
    "quantities as numbers": {"cpuPool": 8, "phases": phases(p2={"cpuPerWorker": 2})},
    "fractional cores": {"cpuPool": "2.5", "phases": phases(p2={"cpuPerWorker": "1.5"})},
    "budget bounds": {"phases": phases(p0={"cpuBudgetPercent": 0}, p2={"cpuBudgetPercent": 100})},
    "headroom bounds": {"headroomPercent": 50},
    "min equals max": {"phases": phases(p1={"minReplicas": 3, "maxReplicas": 3})},
    "custom priority": {"priority": ["phase-1", "phase-3", "phase-2"]},
    "compound durations": {
        "phases": phases(p0={"idleAfter": "90s"}, p1={"idleAfter": "1h30m"}, p2={"idleAfter": "2h"})
    },
    "seconds up to 720h": {"phases": phases(p2={"idleAfter": "2592000s"})},
    "window across midnight": {"offPeak": {"start": "22:00", "end": "06:00"}},
    "a time zone": {"offPeak": {"timeZone": "Europe/Berlin"}},
    "predictive with its default horizon": {"predictive": {"enabled": True}},
    "predictive with a horizon": {"predictive": {"enabled": True, "horizonSeconds": 3600}},
}

INVALID: dict[str, Invalid] = {
    "negative budget": Invalid(
        {"phases": phases(p1={"cpuBudgetPercent": -1})}, "cpuBudgetPercent must be within 0-100"
    ),
    "budget above 100": Invalid(
        {"phases": phases(p0={"cpuBudgetPercent": 101})}, "cpuBudgetPercent must be within 0-100"
    ),
    "headroom above 50": Invalid({"headroomPercent": 51}, "headroomPercent must be within 0-50"),
    "thresholds not increasing": Invalid(
        {"phases": phases(p1={"idleAfter": "10m"})}, "idleAfter must be strictly increasing"
    ),
    "thresholds decreasing": Invalid(
        {"phases": phases(p2={"idleAfter": "20m"})}, "idleAfter must be strictly increasing"
    ),
    "threshold in words": Invalid(
        {"phases": phases(p0={"idleAfter": "ten minutes"})},
        "idleAfter must be a duration of hours, minutes and seconds such as 10m",
        alone=True,
    ),
    "threshold too long for a duration": Invalid(
        {"phases": phases(p2={"idleAfter": "9999999999999h"})},
        "idleAfter must be between 1s and 720h",
        alone=True,
    ),
    "threshold above 720h": Invalid(
        {"phases": phases(p2={"idleAfter": "721h"})}, "idleAfter must be between 1s and 720h"
    ),
    "min above max": Invalid(
        {"phases": phases(p2={"minReplicas": 5, "maxReplicas": 4})},
        "minReplicas must not exceed maxReplicas",
    ),
    "misspelt field": Invalid(
        {"headroomPercnt": 5}, 'unknown field "spec.headroomPercnt"', "Additional properties"
    ),
    "misspelt nested field": Invalid(
        {"offPeak": {"timezone": "UTC"}},
        'unknown field "spec.offPeak.timezone"',
        "Additional properties",
    ),
    "string for an integer": Invalid(
        {"tickSeconds": "5"}, "spec.tickSeconds in body must be of type integer", "is not of type"
    ),
    "string for a phase integer": Invalid(
        {"phases": phases(p0={"maxReplicas": "four"})},
        "spec.phases[0].maxReplicas in body must be of type integer",
        "is not of type",
    ),
    "string for a boolean": Invalid(
        {"paused": "yes"}, "spec.paused in body must be of type boolean", "is not of type"
    ),
    "pool not a quantity": Invalid(
        {"cpuPool": "abc"}, "cpuPool must be a positive CPU quantity", alone=True
    ),
    "negative pool": Invalid(
        {"cpuPool": "-4"}, "cpuPool must be a positive CPU quantity", alone=True
    ),
    "negative cpu per worker": Invalid(
        {"phases": phases(p0={"cpuPerWorker": -1})},
        "cpuPerWorker must be a positive CPU quantity",
        alone=True,
    ),
    "cpu per worker not a quantity": Invalid(
        {"phases": phases(p0={"cpuPerWorker": "a lot"})},
        "cpuPerWorker must be a positive CPU quantity",
        alone=True,
    ),
    "zero cpu per worker": Invalid(
        {"phases": phases(p0={"cpuPerWorker": "0"})}, "cpuPerWorker must be a positive CPU quantity"
    ),
    "memory not a quantity": Invalid(
        {"phases": phases(p0={"memoryPerWorker": "12 gigs"})},
        "memoryPerWorker must be a positive memory quantity",
    ),
    "worker bigger than the pool": Invalid(
        {"cpuPool": "1", "phases": phases(p2={"cpuPerWorker": "2"})},
        "cpuPerWorker of every phase must not exceed cpuPool",
    ),
    "unknown time zone": Invalid(
        {"offPeak": {"timeZone": "Mars/Base"}},
        "offPeak.timeZone must be an IANA time zone name such as UTC or Europe/Berlin",
        alone=True,
    ),
    "duplicate priority names": Invalid(
        {"priority": ["phase-1", "phase-1", "phase-2"]},
        'spec.priority[1]: Duplicate value: "phase-1"',
        "duplicate entries",
    ),
    "priority with an unknown phase": Invalid(
        {"priority": ["phase-1", "phase-2", "phase-9"]},
        "priority must be empty or list every phase name exactly once",
    ),
    "priority missing a phase": Invalid(
        {"priority": ["phase-1", "phase-2"]},
        "priority must be empty or list every phase name exactly once",
    ),
    "duplicate phase names": Invalid(
        {"phases": phases(p1={"name": "phase-1"})},
        "the phase names must differ",
        "duplicate entries",
    ),
    "phase without a name": Invalid(
        {"phases": phases_without(2, "name")},
        "spec.phases[2].name: Required value",
        "'name' is a required property",
    ),
    "phase name not a DNS label": Invalid(
        {"phases": phases(p0={"name": "Phase_1"})},
        "phase name must be a DNS label",
        alone=True,
    ),
    "two phases": Invalid(
        {"phases": phases()[:2]},
        "spec.phases in body should have at least 3 items",
        "too short",
        alone=True,
    ),
    "four phases": Invalid(
        {"phases": [*phases(), dict(phases()[2], name="phase-4")]},
        "must have at most 3 items",
        "too long",
    ),
    "empty off-peak window": Invalid(
        {"offPeak": {"start": "06:00", "end": "06:00"}}, "offPeak.start and offPeak.end must differ"
    ),
    "off-peak start equal to the default end": Invalid(
        {"offPeak": {"start": "07:00"}}, "offPeak.start and offPeak.end must differ"
    ),
    "off-peak time not HH:MM": Invalid(
        {"offPeak": {"start": "6pm"}},
        "offPeak.start must be a time of day as HH:MM",
        alone=True,
    ),
    "unknown pull policy": Invalid(
        {"worker": {"imagePullPolicy": "Sometimes"}}, "supported values", "is not one of"
    ),
    "predictive horizon of zero": Invalid(
        {"predictive": {"enabled": True, "horizonSeconds": 0}},
        "spec.predictive.horizonSeconds in body should be greater than or equal to 1",
        "less than the minimum",
    ),
    "predictive enabled as a string": Invalid(
        {"predictive": {"enabled": "yes"}},
        "spec.predictive.enabled in body must be of type boolean",
        "is not of type",
    ),
    "tick too fast": Invalid(
        {"tickSeconds": 0},
        "spec.tickSeconds in body should be greater than or equal to 1",
        "less than the minimum",
    ),
}
