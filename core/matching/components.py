"""Component scores in [0, 1] of one side (`src`) looking at the other (`dst`).

Components are directional: they answer "how well does `dst` fit what `src` cares
about", using `src`'s own key weights (non-negotiables count more). Either argument may
have one row, which broadcasts against the other. A component that cannot be computed
(a slider or location missing on a side) is NaN, never a made-up middle value; callers
decide what unknown means.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from eros.core.matching.filters import SECONDS_PER_DAY, distance_km
from eros.core.matching.pool import ProfileColumns
from eros.core.matching.profile import SLIDER_MAX

__all__ = [
    "COMPONENT_NAMES",
    "PROXIMITY_HALF_DISTANCE_KM",
    "RECENCY_HALF_LIFE_DAYS",
    "availability_overlap",
    "communication_fit",
    "component_scores",
    "depth_fit",
    "interest_overlap",
    "proximity",
    "recency",
    "values_alignment",
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

PROXIMITY_HALF_DISTANCE_KM = 10.0
"""Proximity halves with every this many kilometres between the two."""
RECENCY_HALF_LIFE_DAYS = 3.0
"""Recency halves with every this many days since the candidate was last active."""

Scores = NDArray[np.float64]


def _ratio(num: NDArray[np.floating], den: NDArray[np.floating]) -> Scores:
    """num / den, NaN where den is 0 (nothing to compare)."""
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _slider_fit(
    src_weights: NDArray[np.float32],
    src_present: NDArray[np.bool_],
    src_values: NDArray[np.float32],
    dst_present: NDArray[np.bool_],
    dst_values: NDArray[np.float32],
) -> Scores:
    """1 - weighted mean absolute difference over keys both sides set, scaled to [0, 1]."""
    w = src_weights * (src_present & dst_present)
    gap = (w * np.abs(src_values - dst_values)).sum(axis=1)
    return 1.0 - _ratio(gap, w.sum(axis=1) * SLIDER_MAX)


def values_alignment(src: ProfileColumns, dst: ProfileColumns) -> Scores:
    return _slider_fit(
        src.values_weights, src.values_present, src.values, dst.values_present, dst.values
    )


def communication_fit(src: ProfileColumns, dst: ProfileColumns) -> Scores:
    return _slider_fit(
        src.communication_weights,
        src.communication_present,
        src.communication,
        dst.communication_present,
        dst.communication,
    )


def interest_overlap(src: ProfileColumns, dst: ProfileColumns) -> Scores:
    """Share of `src`'s (weighted) interest that `dst` shares: sum min(a, b) / sum a.

    Raising any of `dst`'s interests, or adding an interest both share, never lowers it.
    """
    shared = (src.interest_weights * np.minimum(src.interests, dst.interests)).sum(axis=1)
    return _ratio(shared, np.broadcast_to(src.interest_mass, shared.shape))


def depth_fit(src: ProfileColumns, dst: ProfileColumns) -> Scores:
    return np.asarray(1.0 - np.abs(src.depth - dst.depth) / SLIDER_MAX, dtype=np.float64)


def availability_overlap(src: ProfileColumns, dst: ProfileColumns) -> Scores:
    """Share of `src`'s free weekly hours that `dst` is free too; NaN if either gave none."""
    shared = np.bitwise_count(src.availability & dst.availability).sum(axis=1)
    both_gave = (src.availability_count > 0) & (dst.availability_count > 0)
    den = np.where(both_gave, src.availability_count, 0)
    return _ratio(shared, np.broadcast_to(den, shared.shape))


def proximity(src: ProfileColumns, dst: ProfileColumns) -> Scores:
    d = distance_km(src.lat_rad, src.lon_rad, dst.lat_rad, dst.lon_rad)
    return np.asarray(np.exp2(-d / PROXIMITY_HALF_DISTANCE_KM))


def recency(dst: ProfileColumns, now: float) -> Scores:
    idle_days = np.maximum(now - dst.last_active, 0.0) / SECONDS_PER_DAY
    return np.asarray(np.exp2(-idle_days / RECENCY_HALF_LIFE_DAYS))


def component_scores(src: ProfileColumns, dst: ProfileColumns, now: float) -> Scores:
    """(pairs, len(COMPONENT_NAMES)) scores of `src` looking at `dst`, NaN when unknown."""
    n = np.broadcast_shapes((len(src),), (len(dst),))[0]
    out = np.empty((n, len(COMPONENT_NAMES)))
    out[:, 0] = values_alignment(src, dst)
    out[:, 1] = communication_fit(src, dst)
    out[:, 2] = interest_overlap(src, dst)
    out[:, 3] = depth_fit(src, dst)
    out[:, 4] = availability_overlap(src, dst)
    out[:, 5] = proximity(src, dst)
    out[:, 6] = recency(dst, now)
    out[:, 7] = np.broadcast_to(dst.completeness, (n,))
    return out

