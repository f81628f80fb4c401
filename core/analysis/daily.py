"""Daily matches: the matcher's best candidates re-ranked by the user's preferences.

The matcher (reciprocal score, hard filters, exposure cap) proposes `DAILY_POOL`
candidates; the user's ultimate preferences then nudge their order: a candidate's
affinity is the preference-weighted mean of their features, in [-1, 1], and multiplies
the score by `1 + AFFINITY_STRENGTH * affinity`. Candidates with a dealbreaker feature
of at least `DEALBREAKER_MIN_VALUE` are dropped. The top `DAILY_MATCHES` are kept, each
with its reasons: the strongest preference it meets, then the matcher's own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import BaseModel

from eros.core.analysis.patterns import match_features_of
from eros.core.analysis.preferences import UltimatePreferences
from eros.core.matching import Match, MatchProfile, Reason

__all__ = [
    "DAILY_MATCHES",
    "DAILY_POOL",
    "DailyMatch",
    "DailySet",
    "pick_daily",
]

DAILY_MATCHES = 10
DAILY_POOL = 50
"""Candidates the matcher proposes for the preferences to re-rank."""
AFFINITY_STRENGTH = 0.5
DEALBREAKER_MIN_VALUE = 0.6
MAX_REASONS = 3
PREFERENCE_REASON_PREFIX = "preference:"
SCORE_DECIMALS = 6

MatchSource = Literal["analysis", "computed"]
PreferencesSource = Literal["claude", "rules", "none"]


class DailyMatch(BaseModel):
    candidate_id: UUID
    rank: int
    score: float
    reasons: list[Reason]


class DailySet(BaseModel):
    """One user's matches of one UTC day, as stored and cached (without profiles)."""

    user_id: UUID
    match_date: date
    source: MatchSource
    preferences_source: PreferencesSource
    generated_at_ms: int
    matches: list[DailyMatch]


def _affinity(
    features: Mapping[str, float], prefs: UltimatePreferences
) -> tuple[float, Reason | None]:
    total = sum(abs(w) for w in prefs.weights.values())
    if total == 0.0:
        return 0.0, None
    pulls = {name: w * features.get(name, 0.0) for name, w in prefs.weights.items()}
    best = max(sorted(pulls), key=lambda name: pulls[name])
    reason = None
    if pulls[best] > 0.0:
        reason = Reason(
            code=PREFERENCE_REASON_PREFIX + best,
            score=round(features.get(best, 0.0), SCORE_DECIMALS),
            contribution=round(pulls[best] / total, SCORE_DECIMALS),
        )
    return sum(pulls.values()) / total, reason


def _breaks_deal(features: Mapping[str, float], prefs: UltimatePreferences) -> bool:
    return any(features.get(d, 0.0) >= DEALBREAKER_MIN_VALUE for d in prefs.dealbreakers)


def pick_daily(
    matches: Sequence[Match],
    profiles: Mapping[UUID, MatchProfile],
    prefs: UltimatePreferences | None,
    k: int = DAILY_MATCHES,
) -> list[DailyMatch]:
    """The day's `k` matches from the matcher's proposals, in a deterministic order."""
    ranked: list[tuple[float, str, Match, Reason | None]] = []
    for match in matches:
        candidate = UUID(str(match.user_id))
        adjusted, reason = match.score, None
        if prefs is not None and candidate in profiles:
            features = match_features_of(profiles[candidate])
            if _breaks_deal(features, prefs):
                continue
            affinity, reason = _affinity(features, prefs)
            adjusted = match.score * (1.0 + AFFINITY_STRENGTH * affinity)
        ranked.append((adjusted, str(candidate), match, reason))
    # Onboarding tiers (new members meet trusted ones first) stay in the matcher's order.
    ranked.sort(key=lambda item: (item[2].priority, -item[0], item[1]))
    picked = []
    for rank, (_, candidate_key, match, reason) in enumerate(ranked[:k], start=1):
        reasons = [reason] if reason is not None else []
        reasons += match.reasons
        picked.append(
            DailyMatch(
                candidate_id=UUID(candidate_key),
                rank=rank,
                score=round(min(1.0, max(0.0, match.score)), SCORE_DECIMALS),
                reasons=reasons[:MAX_REASONS],
            )
        )
    return picked
