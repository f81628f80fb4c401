"""Typed inputs of the matcher: one profile record per user and the fixed key vocabularies.

The API/DB layer validates user input and builds these records; the matcher trusts them
(`MatchProfile.__post_init__` only guards against programming errors such as a value
outside 0-100). Keys of interests, values, communication style and topics must come from
a `MatchVocabulary`, so every profile maps onto the same NumPy columns.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import TypeAlias

__all__ = [
    "DAYS_PER_WEEK",
    "MAX_GENDERS",
    "MAX_NON_NEGOTIABLES",
    "MINUTES_PER_DAY",
    "SLIDER_MAX",
    "AvailabilityWindow",
    "MatchProfile",
    "MatchVocabulary",
    "NonNegotiable",
    "NonNegotiableKind",
    "UserId",
]

UserId: TypeAlias = Hashable
"""Any hashable user id (the API uses UUIDs; the benchmark uses ints)."""

SLIDER_MAX = 100.0
"""Interests, values, communication style and depth are sliders from 0 to this."""

MAX_NON_NEGOTIABLES = 3
MINUTES_PER_DAY = 24 * 60
DAYS_PER_WEEK = 7
MAX_GENDERS = 16


class NonNegotiableKind(StrEnum):
    VALUE = "value"
    INTEREST = "interest"
    # A communication-style key (conversation depth is a slider of its own, not a key here).
    PREFERENCE = "preference"


@dataclass(frozen=True, slots=True)
class NonNegotiable:
    """One of a user's (at most three) most important keys; weighs more in their scores."""

    kind: NonNegotiableKind
    key: str


@dataclass(frozen=True, slots=True)
class AvailabilityWindow:
    """A weekly free window on one weekday (0 = Monday), minutes since local midnight."""

    weekday: int
    start_minute: int
    end_minute: int

    def __post_init__(self) -> None:
        if not 0 <= self.weekday < DAYS_PER_WEEK:
            raise ValueError(f"weekday {self.weekday} is not in 0..6")
        if not 0 <= self.start_minute < self.end_minute <= MINUTES_PER_DAY:
            raise ValueError(f"window {self.start_minute}-{self.end_minute} is not within one day")


def _check_sliders(name: str, sliders: Mapping[str, float]) -> None:
    for key, value in sliders.items():
        if not 0.0 <= value <= SLIDER_MAX:
            raise ValueError(f"{name}[{key!r}] = {value} is outside 0..{SLIDER_MAX:g}")


@dataclass(frozen=True, slots=True)
class MatchProfile:
    """Everything the matcher knows about one user.

    `max_distance_km=None` means no distance limit; `latitude/longitude=None` means the
    location is unknown, which fails the distance filter only against a user who set a
    limit. `conversation_depth` is a 0-100 slider (light 0, moderate 50, deep 100).
    `active=False` marks a paused, banned or deleted account.
    """

    user_id: UserId
    gender: str
    genders_sought: frozenset[str]
    birth_date: date
    age_min: int
    age_max: int
    last_active_at: datetime
    latitude: float | None = None
    longitude: float | None = None
    max_distance_km: float | None = None
    interests: Mapping[str, float] = field(default_factory=dict)
    values: Mapping[str, float] = field(default_factory=dict)
    communication_style: Mapping[str, float] = field(default_factory=dict)
    conversation_depth: float | None = None
    availability: tuple[AvailabilityWindow, ...] = ()
    off_limits_topics: frozenset[str] = frozenset()
    non_negotiables: tuple[NonNegotiable, ...] = ()
    photo_count: int = 0
    bio_length: int = 0
    active: bool = True

    def __post_init__(self) -> None:
        if self.age_min > self.age_max:
            raise ValueError(f"age range {self.age_min}-{self.age_max} is empty")
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude and longitude must be given together")
        if self.max_distance_km is not None and self.max_distance_km <= 0:
            raise ValueError("max_distance_km must be positive")
        if len(self.non_negotiables) > MAX_NON_NEGOTIABLES:
            raise ValueError(f"at most {MAX_NON_NEGOTIABLES} non-negotiables")
        if self.last_active_at.tzinfo is None:
            raise ValueError("last_active_at must be timezone-aware")
        _check_sliders("interests", self.interests)
        _check_sliders("values", self.values)
        _check_sliders("communication_style", self.communication_style)
        if self.conversation_depth is not None:
            _check_sliders("conversation_depth", {"depth": self.conversation_depth})


@dataclass(frozen=True, slots=True)
class MatchVocabulary:
    """The fixed keys that become columns of a `CandidatePool`.

    `topics` are what off-limits lists refer to; an interest or value key that is also a
    topic counts as a topic its owner insists on when they rate it highly or list it as a
    non-negotiable (see `filters.off_limits_conflict`).
    """

    genders: tuple[str, ...]
    interests: tuple[str, ...]
    values: tuple[str, ...]
    communication: tuple[str, ...]
    topics: tuple[str, ...]

    def __post_init__(self) -> None:
        for name in ("genders", "interests", "values", "communication", "topics"):
            keys: tuple[str, ...] = getattr(self, name)
            if len(set(keys)) != len(keys):
                raise ValueError(f"vocabulary {name} has duplicate keys")
        if len(self.genders) > MAX_GENDERS:
            raise ValueError(f"at most {MAX_GENDERS} genders fit the gender bitmask")
