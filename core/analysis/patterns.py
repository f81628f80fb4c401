"""Learned patterns (phase 2): which features a user favours, messages, or blocks.

A person is described by named features in [0, 1]: `interest:<key>` and `value:<key>`
(the 0-100 sliders), `style:<key>` (communication style) and `depth:<level>`
(conversation depth, one-hot). A pattern contrasts two groups of people the user
treated differently (liked vs skipped, messaged vs liked but never messaged, blocked vs
liked): its weight is the feature's mean in the first group minus its mean in the
second (an unset feature counts as 0; an empty group has mean 0), so it lies in
[-1, 1]. Its evidence is the number of people in either group who have the feature,
and its confidence `evidence / (evidence + CONFIDENCE_HALF_EVIDENCE)` grows with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from eros.core.matching import MatchProfile
from eros.core.profiles import ConversationDepth, Profile

__all__ = [
    "CONFIDENCE_HALF_EVIDENCE",
    "Pattern",
    "PatternKind",
    "confidence",
    "contrast_patterns",
    "features_of",
    "match_features_of",
]

CONFIDENCE_HALF_EVIDENCE = 10
"""People with a feature after which a pattern's confidence reaches 0.5."""
SLIDER_SCALE = 100.0
# Below this size a weight is noise from rounding, not a preference.
MIN_ABS_WEIGHT = 1e-6
WEIGHT_DECIMALS = 6

Features = Mapping[str, float]


class PatternKind(StrEnum):
    FAVOURITE = "favourite"
    MESSAGE = "message"
    BLOCK = "block"


@dataclass(frozen=True, slots=True)
class Pattern:
    kind: PatternKind
    feature: str
    weight: float
    evidence: int
    confidence: float


def confidence(evidence: int) -> float:
    return evidence / (evidence + CONFIDENCE_HALF_EVIDENCE) if evidence > 0 else 0.0


def _features(
    interests: Mapping[str, float],
    values: Mapping[str, float],
    style: Mapping[str, float],
    depth: str | None,
) -> dict[str, float]:
    features = {f"interest:{k}": v / SLIDER_SCALE for k, v in interests.items()}
    features.update({f"value:{k}": v / SLIDER_SCALE for k, v in values.items()})
    features.update({f"style:{k}": v / SLIDER_SCALE for k, v in style.items()})
    if depth is not None:
        features[f"depth:{depth}"] = 1.0
    return features


def features_of(profile: Profile) -> dict[str, float]:
    depth = profile.conversation_depth.value if profile.conversation_depth else None
    return _features(profile.interests, profile.values, profile.communication_style, depth)


def match_features_of(profile: MatchProfile) -> dict[str, float]:
    """The same features from the matcher's view of a profile (depth is a 0-100 slider)."""
    depth = None
    slider = profile.conversation_depth
    if slider is not None:
        depth = min(ConversationDepth, key=lambda d: abs(d.slider - slider))
    return _features(
        profile.interests,
        profile.values,
        profile.communication_style,
        depth.value if depth is not None else None,
    )


def contrast_patterns(
    kind: PatternKind, chosen: Sequence[Features], contrast: Sequence[Features]
) -> list[Pattern]:
    """One pattern per feature seen in either group, sorted by feature name."""
    names = sorted({name for person in (*chosen, *contrast) for name in person})
    patterns = []
    for name in names:
        weight = _mean(p.get(name, 0.0) for p in chosen) if chosen else 0.0
        weight -= _mean(p.get(name, 0.0) for p in contrast) if contrast else 0.0
        evidence = sum(1 for p in (*chosen, *contrast) if p.get(name, 0.0) > 0.0)
        weight = round(max(-1.0, min(1.0, weight)), WEIGHT_DECIMALS)
        if abs(weight) < MIN_ABS_WEIGHT and evidence == 0:
            continue
        patterns.append(Pattern(kind, name, weight, evidence, confidence(evidence)))
    return patterns


def share_pattern(kind: PatternKind, name: str, part: int, whole: int) -> Pattern:
    """A rate as a pattern, e.g. the share of liked people the user went on to message."""
    weight = round(part / whole, WEIGHT_DECIMALS) if whole else 0.0
    return Pattern(kind, f"stat:{name}", weight, whole, confidence(whole))


def _mean(values: Iterable[float]) -> float:
    items = list(values)
    return sum(items) / len(items) if items else 0.0
