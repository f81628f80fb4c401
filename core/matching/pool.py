"""The candidate pool: many profiles as NumPy columns, built once and shared by every viewer.

Rows are the unit everywhere in the matcher (filters return rows, scores are per row);
`CandidatePool.row_of` maps a user id to its row. Missing sliders are stored as 0 with a
presence mask so that component scores can tell "unknown" from "zero".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray

from eros.core.matching.profile import (
    DAYS_PER_WEEK,
    MINUTES_PER_DAY,
    MatchProfile,
    MatchVocabulary,
    NonNegotiableKind,
    UserId,
)

__all__ = [
    "AVAILABILITY_SLOTS",
    "NON_NEGOTIABLE_WEIGHT",
    "STRONG_INTEREST_THRESHOLD",
    "CandidatePool",
    "ProfileColumns",
    "availability_bits",
    "profile_completeness",
]

MINUTES_PER_SLOT = 60
SLOTS_PER_DAY = MINUTES_PER_DAY // MINUTES_PER_SLOT
AVAILABILITY_SLOTS = DAYS_PER_WEEK * SLOTS_PER_DAY
BITS_PER_WORD = 64
AVAILABILITY_WORDS = math.ceil(AVAILABILITY_SLOTS / BITS_PER_WORD)

NON_NEGOTIABLE_WEIGHT = 3.0
"""A non-negotiable key counts this many times as much as an ordinary key in its owner's scores."""

STRONG_INTEREST_THRESHOLD = 80.0
"""An interest or value rated at least this (0-100) is a topic its owner insists on."""

# Sections that make a profile complete; each counts equally.
COMPLETENESS_SECTIONS = 8

Float32 = NDArray[np.float32]
Float64 = NDArray[np.float64]
Int32 = NDArray[np.int32]
Bool = NDArray[np.bool_]
UInt16 = NDArray[np.uint16]
UInt64 = NDArray[np.uint64]


@dataclass(frozen=True, slots=True, eq=False)
class ProfileColumns:
    """One NumPy array per profile attribute, all with the same first dimension (rows)."""

    gender_bit: UInt16
    seeks_bits: UInt16
    birth_year: Int32
    birth_mmdd: Int32
    age_min: Int32
    age_max: Int32
    lat_rad: Float64  # NaN when unknown
    lon_rad: Float64
    max_km: Float64  # inf when no limit
    interests: Float32  # (rows, interests) 0-100, 0 when not given
    interest_weights: Float32  # (rows, interests) 1 or NON_NEGOTIABLE_WEIGHT
    interest_mass: Float32  # sum of weight * interest, the denominator of overlap
    values: Float32
    values_present: Bool
    values_weights: Float32
    communication: Float32
    communication_present: Bool
    communication_weights: Float32
    depth: Float32  # NaN when unknown
    availability: UInt64  # (rows, words) weekly hour slots
    availability_count: Int32
    off_limits: UInt64  # (rows, words) topic bits
    insisted: UInt64
    last_active: Float64  # epoch seconds
    active: Bool
    completeness: Float32

    def __len__(self) -> int:
        return int(self.gender_bit.shape[0])

    def take(self, rows: NDArray[np.intp] | NDArray[np.int64]) -> ProfileColumns:
        """The columns of `rows` only, in that order (a copy)."""
        gathered: dict[str, Any] = {f.name: getattr(self, f.name)[rows] for f in fields(self)}
        return ProfileColumns(**gathered)


def availability_bits(profile: MatchProfile) -> list[int]:
    """The profile's weekly windows as 64-bit words of hour slots (a slot partly free counts)."""
    words = [0] * AVAILABILITY_WORDS
    for window in profile.availability:
        first = window.start_minute // MINUTES_PER_SLOT
        last = -(-window.end_minute // MINUTES_PER_SLOT)  # ceiling division
        for slot in range(first, last):
            bit = window.weekday * SLOTS_PER_DAY + slot
            words[bit // BITS_PER_WORD] |= 1 << (bit % BITS_PER_WORD)
    return words


def profile_completeness(profile: MatchProfile) -> float:
    """Share of the profile sections that are filled in, in [0, 1]."""
    filled = [
        profile.photo_count > 0,
        profile.bio_length > 0,
        bool(profile.interests),
        bool(profile.values),
        bool(profile.communication_style),
        profile.conversation_depth is not None,
        bool(profile.availability),
        profile.latitude is not None,
    ]
    return sum(filled) / COMPLETENESS_SECTIONS


def _index(keys: Sequence[str]) -> dict[str, int]:
    return {key: i for i, key in enumerate(keys)}


def _fill_sliders(
    row: int,
    sliders: Mapping[str, float],
    index: Mapping[str, int],
    out: Float32,
    present: Bool | None,
    what: str,
) -> None:
    for key, value in sliders.items():
        if key not in index:
            raise ValueError(f"{what} key {key!r} is not in the vocabulary")
        out[row, index[key]] = value
        if present is not None:
            present[row, index[key]] = True


def _set_bit(words: UInt64, row: int, bit: int) -> None:
    words[row, bit // BITS_PER_WORD] |= np.uint64(1 << (bit % BITS_PER_WORD))


class CandidatePool:
    """Profiles of many users as columns; `columns` rows follow `user_ids`."""

    def __init__(
        self, vocabulary: MatchVocabulary, user_ids: Sequence[UserId], columns: ProfileColumns
    ) -> None:
        if len(user_ids) != len(columns):
            raise ValueError("one user id per row is required")
        self.vocabulary = vocabulary
        self.user_ids: tuple[UserId, ...] = tuple(user_ids)
        self.columns = columns
        self._rows: dict[UserId, int] = {uid: row for row, uid in enumerate(self.user_ids)}
        if len(self._rows) != len(self.user_ids):
            raise ValueError("user ids must be unique")

    def __len__(self) -> int:
        return len(self.user_ids)

    def __contains__(self, user_id: object) -> bool:
        return user_id in self._rows

    def row_of(self, user_id: UserId) -> int:
        return self._rows[user_id]

    def rows_of(self, user_ids: Iterable[UserId]) -> NDArray[np.int64]:
        """Rows of the given users, skipping those not in the pool."""
        rows = [self._rows[uid] for uid in user_ids if uid in self._rows]
        return np.asarray(rows, dtype=np.int64)

    @classmethod
    def from_profiles(
        cls, profiles: Sequence[MatchProfile], vocabulary: MatchVocabulary
    ) -> CandidatePool:
        n = len(profiles)
        voc = vocabulary
        genders = _index(voc.genders)
        interest_ix, value_ix = _index(voc.interests), _index(voc.values)
        comm_ix, topic_ix = _index(voc.communication), _index(voc.topics)
        topic_words = max(1, math.ceil(len(voc.topics) / BITS_PER_WORD))

        gender_bit = np.zeros(n, np.uint16)
        seeks = np.zeros(n, np.uint16)
        birth_year = np.zeros(n, np.int32)
        birth_mmdd = np.zeros(n, np.int32)
        age_min = np.zeros(n, np.int32)
        age_max = np.zeros(n, np.int32)
        lat = np.full(n, np.nan)
        lon = np.full(n, np.nan)
        max_km = np.full(n, np.inf)
        interests = np.zeros((n, len(voc.interests)), np.float32)
        interest_w = np.ones_like(interests)
        values = np.zeros((n, len(voc.values)), np.float32)
        values_present = np.zeros(values.shape, np.bool_)
        values_w = np.ones_like(values)
        comm = np.zeros((n, len(voc.communication)), np.float32)
        comm_present = np.zeros(comm.shape, np.bool_)
        comm_w = np.ones_like(comm)
        depth = np.full(n, np.nan, np.float32)
        avail = np.zeros((n, AVAILABILITY_WORDS), np.uint64)
        off_limits = np.zeros((n, topic_words), np.uint64)
        insisted = np.zeros((n, topic_words), np.uint64)
        last_active = np.zeros(n)
        active = np.zeros(n, np.bool_)
        completeness = np.zeros(n, np.float32)

        for row, p in enumerate(profiles):
            if p.gender not in genders or not p.genders_sought <= genders.keys():
                raise ValueError(f"unknown gender in the profile of {p.user_id!r}")
            gender_bit[row] = 1 << genders[p.gender]
            seeks[row] = sum(1 << genders[g] for g in p.genders_sought)
            birth_year[row] = p.birth_date.year
            birth_mmdd[row] = p.birth_date.month * 100 + p.birth_date.day
            age_min[row], age_max[row] = p.age_min, p.age_max
            if p.latitude is not None and p.longitude is not None:
                lat[row], lon[row] = math.radians(p.latitude), math.radians(p.longitude)
            if p.max_distance_km is not None:
                max_km[row] = p.max_distance_km
            _fill_sliders(row, p.interests, interest_ix, interests, None, "interest")
            _fill_sliders(row, p.values, value_ix, values, values_present, "value")
            _fill_sliders(row, p.communication_style, comm_ix, comm, comm_present, "style")
            if p.conversation_depth is not None:
                depth[row] = p.conversation_depth
            avail[row] = availability_bits(p)
            for topic in p.off_limits_topics:
                if topic not in topic_ix:
                    raise ValueError(f"topic {topic!r} is not in the vocabulary")
                _set_bit(off_limits, row, topic_ix[topic])
            strong = [k for k, v in p.interests.items() if v >= STRONG_INTEREST_THRESHOLD]
            strong += [k for k, v in p.values.items() if v >= STRONG_INTEREST_THRESHOLD]
            for nn in p.non_negotiables:
                target = {
                    NonNegotiableKind.INTEREST: (interest_ix, interest_w),
                    NonNegotiableKind.VALUE: (value_ix, values_w),
                    NonNegotiableKind.PREFERENCE: (comm_ix, comm_w),
                }[nn.kind]
                if nn.key not in target[0]:
                    raise ValueError(f"non-negotiable {nn.kind}:{nn.key} is not in the vocabulary")
                target[1][row, target[0][nn.key]] = NON_NEGOTIABLE_WEIGHT
                if nn.kind is not NonNegotiableKind.PREFERENCE:
                    strong.append(nn.key)
            for topic in strong:
                if topic in topic_ix:
                    _set_bit(insisted, row, topic_ix[topic])
            last_active[row] = p.last_active_at.timestamp()
            active[row] = p.active
            completeness[row] = profile_completeness(p)

        columns = ProfileColumns(
            gender_bit=gender_bit,
            seeks_bits=seeks,
            birth_year=birth_year,
            birth_mmdd=birth_mmdd,
            age_min=age_min,
            age_max=age_max,
            lat_rad=lat,
            lon_rad=lon,
            max_km=max_km,
            interests=interests,
            interest_weights=interest_w,
            interest_mass=(interests * interest_w).sum(axis=1, dtype=np.float32),
            values=values,
            values_present=values_present,
            values_weights=values_w,
            communication=comm,
            communication_present=comm_present,
            communication_weights=comm_w,
            depth=depth,
            availability=avail,
            availability_count=np.bitwise_count(avail).sum(axis=1, dtype=np.int32),
            off_limits=off_limits,
            insisted=insisted,
            last_active=last_active,
            active=active,
            completeness=completeness,
        )
        return cls(vocabulary, [p.user_id for p in profiles], columns)
