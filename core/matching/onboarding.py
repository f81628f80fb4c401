"""Onboarding-safe pairing: new members meet trusted members first, and are met by them first.

A viewer's candidates fall into priority tiers; a list is filled tier by tier, best score
first within a tier (`eros.core.matching.ranking.tiered_top_k`):

- A new viewer (no decisions yet) sees trusted candidates (established and in good
  standing, see `eros.core.matching.standing`) before anyone else.
- A trusted viewer sees up to `NEWCOMER_SLOTS` new candidates first, so that a new
  member's first showings go to trusted members; the rest of the list is by score.
- A viewer not in good standing sees new candidates last, after everyone else.
- Everyone else is ranked by score alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from eros.core.matching.standing import StandingColumns

__all__ = [
    "FIRST",
    "LAST",
    "NEWCOMER_SLOTS",
    "NORMAL",
    "Tiers",
    "onboarding_tiers",
]

FIRST, NORMAL, LAST = 0, 1, 2
"""Priority tiers, filled in this order."""
NEWCOMER_SLOTS = 3
"""At most this many new members head a trusted viewer's list; the rest compete on score."""

Int64 = NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class Tiers:
    """Each candidate's tier, and how many may be taken from the first tier (None: all)."""

    priority: NDArray[np.int8]
    first_limit: int | None = None


def onboarding_tiers(standing: StandingColumns, viewer: int, rows: Int64) -> Tiers:
    """The tiers of `rows` (candidate pool rows) for `viewer`."""
    priority = np.full(rows.shape[0], NORMAL, np.int8)
    new = standing.new[rows]
    if not standing.good[viewer]:
        priority[new] = LAST
    if standing.new[viewer]:
        priority[standing.trusted[rows]] = FIRST
        return Tiers(priority)
    if standing.trusted[viewer]:
        priority[new] = FIRST
        return Tiers(priority, NEWCOMER_SLOTS)
    return Tiers(priority)
