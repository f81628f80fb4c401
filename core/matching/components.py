"""Component scores in [0, 1], for both directions of a pair at once.

Components are directional: "how well does b fit what a cares about" uses a's own key
weights (non-negotiables count more) and a's own denominators. The elementwise work
(slider gaps, shared interests, shared hours, distance) is the same for both directions,
so `component_pairs` does it once and returns a->b and b->a. Either side may have a
single row, which broadcasts against the other. A component that cannot be computed (a
slider or location missing on a side) is NaN, never a made-up middle value.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from eros.core.matching.filters import SECONDS_PER_DAY, distance_km
from eros.core.matching.pool import MISSING_SLIDER, ProfileColumns, weighted_row_sum
from eros.core.matching.profile import SLIDER_MAX

__all__ = [
    "COMPONENT_NAMES",
    "PROXIMITY_HALF_DISTANCE_KM",
    "RECENCY_HALF_LIFE_DAYS",
    "component_pairs",
]

COMPONENT_NAMES: tuple[str, ...] = (
    "values_alignment",
    "communication_style",
    "interest_overlap",
    "conversation_depth",
    "availability_overlap",
    "proximity",
    "recency",
    "completeness",
)
VALUES, COMMUNICATION, INTERESTS, DEPTH, AVAILABILITY, PROXIMITY, RECENCY, COMPLETENESS = range(8)

PROXIMITY_HALF_DISTANCE_KM = 10.0
"""Proximity halves with every this many kilometres between the two."""
RECENCY_HALF_LIFE_DAYS = 3.0
"""Recency halves with every this many days since the other was last active."""

Scores = NDArray[np.float64]


def _ratio(num: NDArray[Any], den: NDArray[Any]) -> Scores:
    """num / den, NaN where den is 0 (nothing to compare)."""
    num, den = np.broadcast_arrays(num, den)
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _slider_fits(
    a: NDArray[np.uint8], a_keys: NDArray[np.int16], b: NDArray[np.uint8], b_keys: NDArray[np.int16]
) -> tuple[Scores, Scores]:
    """1 - weighted mean absolute gap over the keys both set, from each side's weights."""
    both = (a != MISSING_SLIDER) & (b != MISSING_SLIDER)
    # uint8 arithmetic (max - min cannot wrap); the multiply zeroes keys a side left unset.
    gap = ((np.maximum(a, b) - np.minimum(a, b)) * both).astype(np.float32)
    weight = both.astype(np.float32)
    a_fit = 1.0 - _ratio(
        weighted_row_sum(gap, a_keys), weighted_row_sum(weight, a_keys) * SLIDER_MAX
    )
    b_fit = 1.0 - _ratio(
        weighted_row_sum(gap, b_keys), weighted_row_sum(weight, b_keys) * SLIDER_MAX
    )
    return a_fit, b_fit


def _interest_overlaps(a: ProfileColumns, b: ProfileColumns) -> tuple[Scores, Scores]:
    """Share of each side's (weighted) interest the other shares: sum min(a, b) / sum own.

    Raising any of the other side's interests, or adding an interest both share, never
    lowers it.
    """
    shared = np.minimum(a.interests, b.interests).astype(np.float32)
    return (
        _ratio(weighted_row_sum(shared, a.interest_keys), a.interest_mass),
        _ratio(weighted_row_sum(shared, b.interest_keys), b.interest_mass),
    )


def _availability_overlaps(a: ProfileColumns, b: ProfileColumns) -> tuple[Scores, Scores]:
    """Share of each side's free weekly hours the other is free too; NaN if either gave none."""
    shared = np.bitwise_count(a.availability & b.availability).sum(axis=1, dtype=np.int16)
    both_gave = (a.availability_count > 0) & (b.availability_count > 0)
    return (
        _ratio(shared, np.where(both_gave, a.availability_count, 0)),
        _ratio(shared, np.where(both_gave, b.availability_count, 0)),
    )


def _recency(cols: ProfileColumns, now: float) -> Scores:
    idle_days = np.maximum(now - cols.last_active, 0.0) / SECONDS_PER_DAY
    return np.asarray(np.exp2(-idle_days / RECENCY_HALF_LIFE_DAYS))


def component_pairs(a: ProfileColumns, b: ProfileColumns, now: float) -> tuple[Scores, Scores]:
    """(pairs, len(COMPONENT_NAMES)) scores of a looking at b, and of b looking at a."""
    n = np.broadcast_shapes((len(a),), (len(b),))[0]
    # Filled one component (row) at a time and returned transposed: contiguous writes.
    ab = np.empty((len(COMPONENT_NAMES), n))
    ba = np.empty_like(ab)
    ab[VALUES], ba[VALUES] = _slider_fits(a.values, a.value_keys, b.values, b.value_keys)
    ab[COMMUNICATION], ba[COMMUNICATION] = _slider_fits(
        a.communication, a.communication_keys, b.communication, b.communication_keys
    )
    ab[INTERESTS], ba[INTERESTS] = _interest_overlaps(a, b)
    ab[DEPTH] = ba[DEPTH] = 1.0 - np.abs(a.depth - b.depth) / SLIDER_MAX
    ab[AVAILABILITY], ba[AVAILABILITY] = _availability_overlaps(a, b)
    d = distance_km(a.position, b.position)
    ab[PROXIMITY] = ba[PROXIMITY] = np.exp2(-d / PROXIMITY_HALF_DISTANCE_KM)
    ab[RECENCY], ba[RECENCY] = _recency(b, now), _recency(a, now)
    ab[COMPLETENESS], ba[COMPLETENESS] = b.completeness, a.completeness
    return ab.T, ba.T
