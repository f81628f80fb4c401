"""Top-k matches per viewer: hard filters, reciprocal scores, exposure cap, reasons.

`rank_for_viewer` serves one viewer; a batch calls it viewer by viewer with one shared
`ExposureLedger`, so that a very popular profile stops being handed out once it has
been shown `cap` times that day. `daily_order` gives a deterministic per-day order, so
the same viewers are not always served first.

With members' standing in the context (`eros.core.matching.standing`), a member in a
cooldown scores and is handed out less, and the list is filled by onboarding tiers
(`eros.core.matching.onboarding`): new members meet trusted members first.

`Reason` is the one shape of a reason in the domain: the matcher's, the daily matches'
preference reasons, and what the caches and PostgreSQL hold are all `Reason`s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from eros.core.matching.components import COMPONENT_NAMES
from eros.core.matching.features import N_COMPONENTS, REPUTATION_FEATURE
from eros.core.matching.filters import FilterRules, candidate_rows
from eros.core.matching.interactions import BlockGraph, InteractionLog
from eros.core.matching.learning import ModelTable, Reputation
from eros.core.matching.onboarding import FIRST, LAST, NORMAL, Tiers, onboarding_tiers
from eros.core.matching.pool import CandidatePool
from eros.core.matching.profile import UserId
from eros.core.matching.scoring import ScoredCandidates, score_candidates
from eros.core.matching.standing import StandingColumns

__all__ = [
    "DEFAULT_DAILY_EXPOSURE_CAP",
    "DEFAULT_TOP_K",
    "REASONS_PER_MATCH",
    "ExposureLedger",
    "Match",
    "MatchContext",
    "Reason",
    "daily_order",
    "rank_for_viewer",
    "settled_priority",
    "tiered_top_k",
    "top_k",
]

DEFAULT_TOP_K = 10
DEFAULT_DAILY_EXPOSURE_CAP = 50
"""A profile is handed out to at most this many viewers per day."""
REASONS_PER_MATCH = 3
REPUTATION_REASON = "liked_by_others"
LIKES_YOU_REASON = "likes_you"
# Odd 64-bit constant of a multiplicative hash (golden ratio), for daily_order.
_HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)

Int64 = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a match was suggested: a component (or signal) code, its value and its pull.

    `score` is the component in [0, 1]; `contribution` the log-odds it added to the
    viewer's predicted interest under the viewer's current weights (for a daily match's
    `preference:<feature>` reason: the feature's share of the preference pull). Pydantic
    models hold it as a field as is, with the same JSON keys as `to_dict`.
    """

    code: str
    score: float
    contribution: float

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "score": self.score, "contribution": self.contribution}


@dataclass(frozen=True, slots=True)
class Match:
    user_id: UserId
    score: float
    viewer_interest: float
    candidate_interest: float
    reasons: tuple[Reason, ...]
    # The onboarding tier it was chosen from (`eros.core.matching.onboarding`): a later
    # re-ranking keeps tiers in order and only reorders within one.
    priority: int = NORMAL

    def to_dict(self) -> dict[str, Any]:
        return {
            "user_id": str(self.user_id),
            "score": self.score,
            "viewer_interest": self.viewer_interest,
            "candidate_interest": self.candidate_interest,
            "reasons": [r.to_dict() for r in self.reasons],
        }


@dataclass(slots=True)
class ExposureLedger:
    """How often each pool row was handed out today; rows at `cap` are not handed out."""

    counts: NDArray[np.int32]
    cap: int = DEFAULT_DAILY_EXPOSURE_CAP

    @classmethod
    def fresh(cls, size: int, cap: int = DEFAULT_DAILY_EXPOSURE_CAP) -> ExposureLedger:
        return cls(np.zeros(size, np.int32), cap)

    def available(
        self, rows: Int64, factor: NDArray[np.float64] | None = None
    ) -> NDArray[np.bool_]:
        """Rows still under the cap; `factor` scales each row's cap (a cooldown lowers it)."""
        if factor is None:
            return np.asarray(self.counts[rows] < self.cap)
        return np.asarray(self.counts[rows] < np.floor(self.cap * factor))

    def record(self, rows: Int64) -> None:
        np.add.at(self.counts, rows, 1)


@dataclass(frozen=True, slots=True)
class MatchContext:
    """Everything scoring needs besides the viewer: built once per batch."""

    pool: CandidatePool
    models: ModelTable
    reputation: Reputation
    log: InteractionLog
    blocks: BlockGraph
    rules: FilterRules = field(default_factory=FilterRules)
    # Pool rows' standing (new, trusted, cooldowns); None ranks by score alone.
    standing: StandingColumns | None = None


def top_k(scores: NDArray[np.float64], rows: Int64, k: int) -> NDArray[np.intp]:
    """Positions of the k best scores, best first; ties go to the lower row (deterministic)."""
    n = scores.shape[0]
    if n > k:
        kth = np.partition(scores, n - k)[n - k]
        chosen = np.flatnonzero(scores >= kth)
    else:
        chosen = np.arange(n)
    order = np.lexsort((rows[chosen], -scores[chosen]))
    return chosen[order[:k]]


def settled_priority(scores: NDArray[np.float64], rows: Int64, tiers: Tiers) -> NDArray[np.int8]:
    """Each candidate's tier once the first tier is cut to `tiers.first_limit` (best
    scores kept); the others compete in the normal tier."""
    priority: NDArray[np.int8] = np.array(tiers.priority, np.int8)
    if tiers.first_limit is not None:
        first = np.flatnonzero(priority == FIRST)
        kept = first[top_k(scores[first], rows[first], tiers.first_limit)]
        priority[np.setdiff1d(first, kept)] = NORMAL
    return priority


def tiered_top_k(
    scores: NDArray[np.float64], rows: Int64, priority: NDArray[np.int8], k: int
) -> NDArray[np.intp]:
    """Positions of k candidates, tier by tier, best score first within a tier."""
    picked: list[NDArray[np.intp]] = []
    left = k
    for tier in (FIRST, NORMAL, LAST):
        if left <= 0:
            break
        members = np.flatnonzero(priority == tier)
        best = members[top_k(scores[members], rows[members], left)]
        picked.append(best)
        left -= best.shape[0]
    return np.concatenate(picked) if picked else np.zeros(0, np.intp)


def _reasons(scored: ScoredCandidates, i: int, reputation: Reputation) -> tuple[Reason, ...]:
    reasons: list[Reason] = []
    if scored.known_like[i]:
        reasons.append(Reason(LIKES_YOU_REASON, 1.0, 0.0))
    comps = scored.components[i]
    contrib = scored.contributions(i)
    pulls = [
        Reason(COMPONENT_NAMES[j], float(comps[j]), float(contrib[j]))
        for j in range(N_COMPONENTS)
        if not np.isnan(comps[j])
    ]
    rep_rate = float(reputation.rate(scored.rows[i : i + 1])[0])
    pulls.append(Reason(REPUTATION_REASON, rep_rate, float(contrib[REPUTATION_FEATURE])))
    pulls.sort(key=lambda r: (-r.contribution, r.code))
    positive = [r for r in pulls if r.contribution > 0]
    reasons.extend((positive or pulls)[:REASONS_PER_MATCH])
    return tuple(reasons[:REASONS_PER_MATCH])


def rank_for_viewer(
    ctx: MatchContext,
    viewer: int,
    now: float,
    k: int = DEFAULT_TOP_K,
    exposure: ExposureLedger | None = None,
) -> list[Match]:
    """The viewer's k best matches (best first), each with machine-readable reasons.

    With a ledger, candidates at the exposure cap are skipped and the chosen ones are
    recorded in it.
    """
    rows = candidate_rows(ctx.pool, viewer, now, ctx.blocks, ctx.log, ctx.rules)
    standing = ctx.standing
    if exposure is not None:
        factor = None if standing is None else standing.exposure_factor(rows, now)
        rows = rows[exposure.available(rows, factor)]
    scored = score_candidates(ctx.pool, viewer, rows, now, ctx.models, ctx.reputation, ctx.log)
    score = scored.score
    priority = np.full(rows.shape[0], NORMAL, np.int8)
    if standing is None:
        best = top_k(score, rows, k)
    else:
        score = score * standing.exposure_factor(rows, now)
        priority = settled_priority(score, rows, onboarding_tiers(standing, viewer, rows))
        best = tiered_top_k(score, rows, priority, k)
    if exposure is not None:
        exposure.record(rows[best])
    return [
        Match(
            user_id=ctx.pool.user_ids[int(rows[i])],
            score=float(score[i]),
            viewer_interest=float(scored.viewer_interest[i]),
            candidate_interest=float(scored.candidate_interest[i]),
            reasons=_reasons(scored, int(i), ctx.reputation),
            priority=int(priority[i]),
        )
        for i in best
    ]


def daily_order(rows: Int64, day: int) -> Int64:
    """`rows` in a pseudo-random order that is fixed for a day and changes between days."""
    with np.errstate(over="ignore"):
        keys = (rows.astype(np.uint64) + np.uint64(day) * _HASH_MULTIPLIER) * _HASH_MULTIPLIER
    keys ^= keys >> np.uint64(29)
    return rows[np.lexsort((rows, keys))]
