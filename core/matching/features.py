"""The feature vector a preference model weighs: components, reputation and age gap.

Components enter as 2c - 1 (so 0 is neutral and an unknown component is exactly
neutral); reputation as a centred log-odds; the age gap in decades so that a learned
weight reads as "log-odds per ten years".
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

from eros.core.matching.components import COMPONENT_NAMES, component_pairs
from eros.core.matching.filters import ages_on
from eros.core.matching.pool import ProfileColumns

__all__ = [
    "AGE_GAP_SCALE_YEARS",
    "FEATURE_NAMES",
    "N_COMPONENTS",
    "N_FEATURES",
    "REPUTATION_FEATURE",
    "feature_matrix",
    "mutual_features",
    "pair_features",
]

FEATURE_NAMES: tuple[str, ...] = (*COMPONENT_NAMES, "reputation", "age_gap", "abs_age_gap")
N_COMPONENTS = len(COMPONENT_NAMES)
N_FEATURES = len(FEATURE_NAMES)
REPUTATION_FEATURE = N_COMPONENTS
AGE_GAP_SCALE_YEARS = 10.0

Float64 = NDArray[np.float64]


def feature_matrix(
    components: Float64, reputation_logit: Float64, age_gap_years: Float64
) -> Float64:
    """Assemble features from components (NaN = unknown), reputation and dst-minus-src age."""
    n = components.shape[0]
    x = np.empty((N_FEATURES, n)).T  # column-major: each feature is one contiguous write
    scaled = 2.0 * components - 1.0
    scaled[np.isnan(scaled)] = 0.0
    x[:, :N_COMPONENTS] = scaled
    x[:, REPUTATION_FEATURE] = reputation_logit
    gap = np.broadcast_to(age_gap_years, (n,)) / AGE_GAP_SCALE_YEARS
    x[:, REPUTATION_FEATURE + 1] = gap
    x[:, REPUTATION_FEATURE + 2] = np.abs(gap)
    return x


def _age_gap(a: ProfileColumns, b: ProfileColumns, now: float) -> Float64:
    """b's age minus a's, in whole years on the day of `now`."""
    today = datetime.fromtimestamp(now, UTC).date()
    return (ages_on(b, slice(None), today) - ages_on(a, slice(None), today)).astype(np.float64)


def mutual_features(
    a: ProfileColumns, b: ProfileColumns, now: float, b_reputation: Float64, a_reputation: Float64
) -> tuple[Float64, Float64, Float64]:
    """(components a->b, features a->b, features b->a), sharing the work of both directions.

    Each `*_reputation` is that side's centred reputation log-odds as the other side
    should see it (already leaving out the other side's own decision).
    """
    ab, ba = component_pairs(a, b, now)
    gap = _age_gap(a, b, now)
    return ab, feature_matrix(ab, b_reputation, gap), feature_matrix(ba, a_reputation, -gap)


def pair_features(
    src: ProfileColumns, dst: ProfileColumns, now: float, dst_reputation: Float64
) -> tuple[Float64, Float64]:
    """(components, features) of `src` looking at `dst`; one side may have a single row."""
    components = component_pairs(src, dst, now)[0]
    return components, feature_matrix(components, dst_reputation, _age_gap(src, dst, now))
