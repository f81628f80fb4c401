"""The candidate pool: many profiles as NumPy columns, built once and shared by every viewer.

Rows are the unit everywhere in the matcher (filters return rows, scores are per row);
`CandidatePool.row_of` maps a user id to its row. Sliders are stored as whole points in
uint8 (a quarter of the memory traffic of float32, which is what scoring 100k rows is
bound by); an unset value or communication slider is `MISSING_SLIDER`, an unset interest
is 0 (no interest). Non-negotiables are kept as up to three key indices per row rather
than a dense weight matrix, for the same reason.
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
    MAX_NON_NEGOTIABLES,
    MINUTES_PER_DAY,
    MatchProfile,
    MatchVocabulary,
    NonNegotiableKind,
    UserId,
)

__all__ = [
    "AVAILABILITY_SLOTS",
    "MISSING_SLIDER",
    "NON_NEGOTIABLE_WEIGHT",
    "NO_KEY",
    "STRONG_INTEREST_THRESHOLD",
    "CandidatePool",
    "ProfileColumns",
    "availability_bits",
    "profile_completeness",
    "unit_vector",
    "weighted_row_sum",
]

MINUTES_PER_SLOT = 60
SLOTS_PER_DAY = MINUTES_PER_DAY // MINUTES_PER_SLOT
AVAILABILITY_SLOTS = DAYS_PER_WEEK * SLOTS_PER_DAY
BITS_PER_WORD = 64
AVAILABILITY_WORDS = math.ceil(AVAILABILITY_SLOTS / BITS_PER_WORD)

NON_NEGOTIABLE_WEIGHT = 3.0
"""A non-negotiable key counts this many times as much as an ordinary key in its owner's scores."""
MISSING_SLIDER = 255
"""Stored in place of a value or communication slider the user did not set (sliders are 0-100)."""
NO_KEY = -1
"""Padding of the non-negotiable key columns."""

STRONG_INTEREST_THRESHOLD = 80.0
"""An interest or value rated at least this (0-100) is a topic its owner insists on."""

# Sections that make a profile complete; each counts equally.
COMPLETENESS_SECTIONS = 8

Float32 = NDArray[np.float32]
Float64 = NDArray[np.float64]
Int16 = NDArray[np.int16]
Bool = NDArray[np.bool_]
UInt8 = NDArray[np.uint8]
UInt16 = NDArray[np.uint16]
UInt64 = NDArray[np.uint64]


@dataclass(frozen=True, slots=True, eq=False)
class ProfileColumns:
    """One NumPy array per profile attribute, all with the same first dimension (rows)."""

    gender_bit: UInt16
    seeks_bits: UInt16
    birth_year: Int16
    birth_mmdd: Int16
    age_min: Int16
    age_max: Int16
    position: Float64  # (rows, 3) unit vector on the sphere; NaN when unknown
    max_km: Float32  # inf when no limit
    interests: UInt8  # (rows, interests) 0-100, 0 when not given
    interest_keys: Int16  # (rows, 3) non-negotiable interest indices, NO_KEY padded
    interest_mass: Float32  # weighted sum of the row's interests, overlap's denominator
    values: UInt8  # (rows, values) 0-100 or MISSING_SLIDER
    value_keys: Int16
    communication: UInt8
    communication_keys: Int16
    depth: Float32  # NaN when unknown
    availability: UInt64  # (rows, words) weekly hour slots
    availability_count: Int16
    off_limits: UInt64  # (rows, words) topic bits
    insisted: UInt64
    last_active: Float64  # epoch seconds
    active: Bool
    completeness: Float32

    def __len__(self) -> int:
        return int(self.gender_bit.shape[0])

    def take(self, rows: NDArray[np.intp] | NDArray[np.int64]) -> ProfileColumns:
        """The columns of `rows` only, in that order (a copy)."""
        # np.take is several times faster than fancy indexing on 2-D arrays.
        gathered: dict[str, Any] = {
            f.name: np.take(getattr(self, f.name), rows, axis=0) for f in fields(self)
        }
        return ProfileColumns(**gathered)

    @property
    def nbytes(self) -> int:
        """Bytes held by the columns' arrays (what a shared pool costs per row, times rows)."""
        return sum(int(getattr(self, f.name).nbytes) for f in fields(self))

    @classmethod
    def concatenate(cls, parts: Sequence[ProfileColumns]) -> ProfileColumns:
        """The rows of `parts`, in order (built with one vocabulary, so equally wide)."""
        joined: dict[str, Any] = {
            f.name: np.concatenate([getattr(p, f.name) for p in parts], axis=0) for f in fields(cls)
        }
        return ProfileColumns(**joined)


def weighted_row_sum(matrix: Float32, keys: Int16) -> Float32:
    """Row sums of `matrix` where each row's non-negotiable `keys` count NON_NEGOTIABLE_WEIGHT.

    `keys` has one row per matrix row, or a single row shared by all (then one BLAS
    matrix-vector product does it all).
    """
    if keys.shape[0] == 1:
        weights = np.ones(matrix.shape[1], np.float32)
        own = keys[0][keys[0] != NO_KEY]
        weights[own] = NON_NEGOTIABLE_WEIGHT
        return np.asarray(matrix @ weights)
    total = np.asarray(matrix @ np.ones(matrix.shape[1], np.float32))
    extra = np.float32(NON_NEGOTIABLE_WEIGHT - 1.0)
    for j in range(keys.shape[1]):
        rows = np.flatnonzero(keys[:, j] != NO_KEY)
        total[rows] += extra * matrix[rows, keys[rows, j]]
    return total


def unit_vector(latitude: float, longitude: float) -> tuple[float, float, float]:
    """A point on the unit sphere; distances then cost one dot product (see filters)."""
    lat, lon = math.radians(latitude), math.radians(longitude)
    return (math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat))


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
    return float(sum(filled)) / COMPLETENESS_SECTIONS


def _index(keys: Sequence[str]) -> dict[str, int]:
    return {key: i for i, key in enumerate(keys)}


def _fill_sliders(
    row: int, sliders: Mapping[str, float], index: Mapping[str, int], out: UInt8, what: str
) -> None:
    for key, value in sliders.items():
        if key not in index:
            raise ValueError(f"{what} key {key!r} is not in the vocabulary")
        out[row, index[key]] = round(value)


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
    def concatenate(cls, parts: Sequence[CandidatePool]) -> CandidatePool:
        """One pool of the rows of `parts`, in order; all must share one vocabulary.

        Lets a large pool be built in slices, so the per-profile Python objects of only
        one slice are alive at a time.
        """
        if not parts:
            raise ValueError("at least one pool is required")
        vocabulary = parts[0].vocabulary
        if any(p.vocabulary != vocabulary for p in parts):
            raise ValueError("pools built with different vocabularies cannot be joined")
        ids = [uid for p in parts for uid in p.user_ids]
        return cls(vocabulary, ids, ProfileColumns.concatenate([p.columns for p in parts]))

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
        birth_year = np.zeros(n, np.int16)
        birth_mmdd = np.zeros(n, np.int16)
        age_min = np.zeros(n, np.int16)
        age_max = np.zeros(n, np.int16)
        position = np.full((n, 3), np.nan)
        max_km = np.full(n, np.inf, np.float32)
        interests = np.zeros((n, len(voc.interests)), np.uint8)
        values = np.full((n, len(voc.values)), MISSING_SLIDER, np.uint8)
        comm = np.full((n, len(voc.communication)), MISSING_SLIDER, np.uint8)
        keys = {
            kind: np.full((n, MAX_NON_NEGOTIABLES), NO_KEY, np.int16) for kind in NonNegotiableKind
        }
        key_index = {
            NonNegotiableKind.INTEREST: interest_ix,
            NonNegotiableKind.VALUE: value_ix,
            NonNegotiableKind.PREFERENCE: comm_ix,
        }
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
                position[row] = unit_vector(p.latitude, p.longitude)
            if p.max_distance_km is not None:
                max_km[row] = p.max_distance_km
            _fill_sliders(row, p.interests, interest_ix, interests, "interest")
            _fill_sliders(row, p.values, value_ix, values, "value")
            _fill_sliders(row, p.communication_style, comm_ix, comm, "communication style")
            if p.conversation_depth is not None:
                depth[row] = p.conversation_depth
            avail[row] = availability_bits(p)
            for topic in p.off_limits_topics:
                if topic not in topic_ix:
                    raise ValueError(f"topic {topic!r} is not in the vocabulary")
                _set_bit(off_limits, row, topic_ix[topic])
            strong = [k for k, v in p.interests.items() if v >= STRONG_INTEREST_THRESHOLD]
            strong += [k for k, v in p.values.items() if v >= STRONG_INTEREST_THRESHOLD]
            used = dict.fromkeys(NonNegotiableKind, 0)
            for nn in p.non_negotiables:
                if nn.key not in key_index[nn.kind]:
                    raise ValueError(f"non-negotiable {nn.kind}:{nn.key} is not in the vocabulary")
                keys[nn.kind][row, used[nn.kind]] = key_index[nn.kind][nn.key]
                used[nn.kind] += 1
                if nn.kind is not NonNegotiableKind.PREFERENCE:
                    strong.append(nn.key)
            for topic in strong:
                if topic in topic_ix:
                    _set_bit(insisted, row, topic_ix[topic])
            last_active[row] = p.last_active_at.timestamp()
            active[row] = p.active
            completeness[row] = profile_completeness(p)

        interest_keys = keys[NonNegotiableKind.INTEREST]
        columns = ProfileColumns(
            gender_bit=gender_bit,
            seeks_bits=seeks,
            birth_year=birth_year,
            birth_mmdd=birth_mmdd,
            age_min=age_min,
            age_max=age_max,
            position=position,
            max_km=max_km,
            interests=interests,
            interest_keys=interest_keys,
            interest_mass=weighted_row_sum(interests.astype(np.float32), interest_keys),
            values=values,
            value_keys=keys[NonNegotiableKind.VALUE],
            communication=comm,
            communication_keys=keys[NonNegotiableKind.PREFERENCE],
            depth=depth,
            availability=avail,
            availability_count=np.bitwise_count(avail).sum(axis=1, dtype=np.int16),
            off_limits=off_limits,
            insisted=insisted,
            last_active=last_active,
            active=active,
            completeness=completeness,
        )
        return cls(vocabulary, [p.user_id for p in profiles], columns)
