"""The feature vector a preference model weighs: components, reputation and age gap.

Components enter as 2c - 1 (so 0 is neutral and an unknown component is exactly
neutral); reputation as a centred log-odds; the age gap in decades so that a learned
weight reads as "log-odds per ten years".
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

from eros.core.matching.components import COMPONENT_NAMES, component_scores
from eros.core.matching.filters import ages_on
from eros.core.matching.pool import ProfileColumns

__all__ = [
    "AGE_GAP_SCALE_YEARS",
    "FEATURE_NAMES",
    "N_COMPONENTS",
    "N_FEATURES",
    "REPUTATION_FEATURE",
    "feature_matrix",
    "pair_features",
]

FEATURE_NAMES: tuple[str, ...] = (*COMPONENT_NAMES, "reputation", "age_gap", "abs_age_gap")
N_COMPONENTS = len(COMPONENT_NAMES)
N_FEATURES = len(FEATURE_NAMES)
REPUTATION_FEATURE = N_COMPONENTS
AGE_GAP_SCALE_YEARS = 10.0

Float64 = NDArray[np.float64]


def feature_matrix(components: Float64, reputation_logit: Float64, age_gap_years: Float64) -> Float64:
    """Assemble features from components (NaN = unknown), reputation and dst-minus-src age."""
    n = components.shape[0]
    x = np.empty((n, N_FEATURES))
    x[:, :N_COMPONENTS] = np.nan_to_num(2.0 * components - 1.0, nan=0.0)
    x[:, REPUTATION_FEATURE] = reputation_logit
    gap = np.broadcast_to(age_gap_years, (n,)) / AGE_GAP_SCALE_YEARS
    x[:, REPUTATION_FEATURE + 1] = gap
    x[:, REPUTATION_FEATURE + 2] = np.abs(gap)
    return x


def pair_features(
    src: ProfileColumns, dst: ProfileColumns, now: float, dst_reputation: Float64
) -> tuple[Float64, Float64]:
    """(components, features) of `src` looking at `dst`; one side may have a single row.

    `dst_reputation` is `dst`'s centred reputation log-odds, already excluding `src`'s own
    decisions (see `learning.Reputation.logit`).
    """
    today = datetime.fromtimestamp(now, UTC).date()
    components = component_scores(src, dst, now)
    gap = (ages_on(dst, slice(None), today) - ages_on(src, slice(None), today)).astype(np.float64)
    return components, feature_matrix(components, dst_reputation, gap)
