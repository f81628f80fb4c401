"""Profiles: the domain record, its vocabularies and limits, and its storage.

The API validates input against the limits here (`eros.api.schemas.profiles`); the
recommendation adapter turns a `Profile` into the matcher's `MatchProfile`.

Re-analysis: every save sets `profiles.analysis_requested_at` to the save time (and the
save through the cache, `eros.core.profile_cache.replace_profile`, schedules the analysis:
`eros.core.reanalysis`). Phase 3, which analyses the profile, calls `clear_reanalysis`
with the timestamp it read, which clears the flag only if no newer save happened
meanwhile.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import psycopg
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from eros.core.matching.profile import (
    MAX_NON_NEGOTIABLES,
    AvailabilityWindow,
    NonNegotiable,
    NonNegotiableKind,
)
from eros.core.visibility import enabled_sql

logger = logging.getLogger(__name__)

__all__ = [
    "KEY_PATTERN",
    "MAX_NON_NEGOTIABLES",
    "PROFILE_COLUMNS",
    "CommunicationDimension",
    "ConversationDepth",
    "Gender",
    "Profile",
    "Weekday",
    "age_on",
    "clear_reanalysis",
    "get_profile",
    "get_profiles",
    "get_visible_profile",
    "profile_from_row",
    "save_profile",
]

MIN_AGE_YEARS = 18
MAX_SOUGHT_AGE_YEARS = 100
MAX_PLAUSIBLE_AGE_YEARS = 120
MAX_DISPLAY_NAME_CHARS = 50
MAX_BIO_CHARS = 500
MAX_PHOTOS = 9
MAX_PHOTO_URL_CHARS = 2048
MAX_CITY_CHARS = 100
# Half of the Earth's circumference: any larger limit means "anywhere".
MAX_DISTANCE_KM = 20_000.0
MAX_INTERESTS = 40
MAX_VALUES = 20
MAX_OFF_LIMITS_TOPICS = 20
MAX_AVAILABILITY_WINDOWS = 28
SLIDER_MIN = 0
SLIDER_MAX = 100
# Keys of interests, values and topics share one vocabulary, so that an off-limits topic
# can clash with someone's interest of the same name.
KEY_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"


class Gender(StrEnum):
    WOMAN = "woman"
    MAN = "man"
    NON_BINARY = "non_binary"
    OTHER = "other"


class ConversationDepth(StrEnum):
    LIGHT = "light"
    MODERATE = "moderate"
    DEEP = "deep"

    @property
    def slider(self) -> float:
        """The matcher's 0-100 depth slider."""
        return {"light": 0.0, "moderate": 50.0, "deep": 100.0}[self.value]


class CommunicationDimension(StrEnum):
    """The keys of the communication-style sliders (each 0-100)."""

    DIRECTNESS = "directness"
    HUMOR = "humor"
    WARMTH = "warmth"
    FORMALITY = "formality"
    EXPRESSIVENESS = "expressiveness"
    RESPONSIVENESS = "responsiveness"


class Weekday(StrEnum):
    """Named, because clients disagree on whether day 0 is Sunday or Monday."""

    MONDAY = "monday"
    TUESDAY = "tuesday"
    WEDNESDAY = "wednesday"
    THURSDAY = "thursday"
    FRIDAY = "friday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"

    @property
    def number(self) -> int:
        """0 = Monday, as in `date.weekday()` and the matcher."""
        return list(Weekday).index(self)


@dataclass(frozen=True, slots=True)
class Profile:
    user_id: UUID
    display_name: str
    birth_date: date
    gender: Gender
    genders_sought: tuple[Gender, ...]
    age_min: int = MIN_AGE_YEARS
    age_max: int = MAX_SOUGHT_AGE_YEARS
    bio: str = ""
    photo_urls: tuple[str, ...] = ()
    latitude: float | None = None
    longitude: float | None = None
    city: str | None = None
    max_distance_km: float | None = None
    interests: dict[str, int] = field(default_factory=dict)
    values: dict[str, int] = field(default_factory=dict)
    communication_style: dict[str, int] = field(default_factory=dict)
    conversation_depth: ConversationDepth | None = None
    availability: tuple[AvailabilityWindow, ...] = ()
    off_limits_topics: tuple[str, ...] = ()
    non_negotiables: tuple[NonNegotiable, ...] = ()
    updated_at: datetime | None = None
    analysis_requested_at: datetime | None = None


def age_on(birth_date: date, today: date) -> int:
    """Age in whole years on `today`; a birthday counts from its day (29 Feb from 1 Mar)."""
    before_birthday = (today.month, today.day) < (birth_date.month, birth_date.day)
    return today.year - birth_date.year - int(before_birthday)


def profile_from_row(row: dict[str, Any]) -> Profile:
    return Profile(
        user_id=row["user_id"],
        display_name=row["display_name"],
        bio=row["bio"],
        photo_urls=tuple(row["photo_urls"]),
        birth_date=row["birth_date"],
        gender=Gender(row["gender"]),
        genders_sought=tuple(Gender(g) for g in row["genders_sought"]),
        age_min=row["age_min"],
        age_max=row["age_max"],
        latitude=row["latitude"],
        longitude=row["longitude"],
        city=row["city"],
        max_distance_km=row["max_distance_km"],
        interests=dict(row["interest_scores"]),
        values=dict(row["value_scores"]),
        communication_style=dict(row["communication_style"]),
        conversation_depth=(
            ConversationDepth(row["conversation_depth"]) if row["conversation_depth"] else None
        ),
        availability=tuple(
            AvailabilityWindow(w["weekday"], w["start_minute"], w["end_minute"])
            for w in row["availability"]
        ),
        off_limits_topics=tuple(row["off_limits_topics"]),
        non_negotiables=tuple(
            NonNegotiable(NonNegotiableKind(n["kind"]), n["key"]) for n in row["non_negotiables"]
        ),
        updated_at=row["updated_at"],
        analysis_requested_at=row["analysis_requested_at"],
    )


_WRITTEN_COLUMNS = (
    "user_id", "display_name", "bio", "photo_urls", "birth_date", "gender", "genders_sought",
    "age_min", "age_max", "latitude", "longitude", "city", "max_distance_km",
    "interest_scores", "value_scores", "communication_style", "conversation_depth",
    "availability", "off_limits_topics", "non_negotiables",
)  # fmt: skip
PROFILE_COLUMNS = ", ".join((*_WRITTEN_COLUMNS, "updated_at", "analysis_requested_at"))
"""The columns `profile_from_row` reads, for queries in other modules."""


async def get_profile(conn: AsyncConnection[Any], user_id: UUID) -> Profile | None:
    cur = await conn.execute(
        f"SELECT {PROFILE_COLUMNS} FROM profiles WHERE user_id = %s", (user_id,)
    )
    row = await cur.fetchone()
    return profile_from_row(row) if row else None


async def get_visible_profile(conn: AsyncConnection[Any], user_id: UUID) -> Profile | None:
    """The profile of an enabled account, else None. It knows no viewer: whoever shows it
    to someone checks `eros.core.visibility.visible` (blocks, ...) first."""
    cur = await conn.execute(
        f"SELECT {PROFILE_COLUMNS} FROM profiles p WHERE p.user_id = %s "
        f"AND {enabled_sql('p.user_id')}",
        (user_id,),
    )
    row = await cur.fetchone()
    return profile_from_row(row) if row else None


async def get_profiles(conn: AsyncConnection[Any], user_ids: list[UUID]) -> dict[UUID, Profile]:
    cur = await conn.execute(
        f"SELECT {PROFILE_COLUMNS} FROM profiles WHERE user_id = ANY(%s)", (user_ids,)
    )
    return {row["user_id"]: profile_from_row(row) for row in await cur.fetchall()}


async def save_profile(conn: AsyncConnection[Any], profile: Profile, now: datetime) -> Profile:
    """Create or replace the profile and flag the user for re-analysis."""
    params = {
        "user_id": profile.user_id,
        "display_name": profile.display_name,
        "bio": profile.bio,
        "photo_urls": list(profile.photo_urls),
        "birth_date": profile.birth_date,
        "gender": profile.gender.value,
        "genders_sought": [g.value for g in profile.genders_sought],
        "age_min": profile.age_min,
        "age_max": profile.age_max,
        "latitude": profile.latitude,
        "longitude": profile.longitude,
        "city": profile.city,
        "max_distance_km": profile.max_distance_km,
        "interest_scores": Jsonb(profile.interests),
        "value_scores": Jsonb(profile.values),
        "communication_style": Jsonb(profile.communication_style),
        "conversation_depth": profile.conversation_depth.value
        if profile.conversation_depth
        else None,
        "availability": Jsonb(
            [
                {"weekday": w.weekday, "start_minute": w.start_minute, "end_minute": w.end_minute}
                for w in profile.availability
            ]
        ),
        "off_limits_topics": list(profile.off_limits_topics),
        "non_negotiables": Jsonb(
            [{"kind": n.kind.value, "key": n.key} for n in profile.non_negotiables]
        ),
        "now": now,
    }
    names = _WRITTEN_COLUMNS
    cur = await conn.execute(
        f"INSERT INTO profiles ({', '.join(names)}, created_at, updated_at, "
        "analysis_requested_at) "
        f"VALUES ({', '.join(f'%({n})s' for n in names)}, %(now)s, %(now)s, %(now)s) "
        "ON CONFLICT (user_id) DO UPDATE SET "
        + ", ".join(f"{n} = EXCLUDED.{n}" for n in names[1:])
        + ", updated_at = EXCLUDED.updated_at, "
        "analysis_requested_at = EXCLUDED.analysis_requested_at "
        f"RETURNING {PROFILE_COLUMNS}",
        params,
    )
    row = await cur.fetchone()
    assert row is not None
    logger.info("Saved the profile of user %s and flagged it for re-analysis.", profile.user_id)
    return profile_from_row(row)


_CLEAR_REANALYSIS_SQL = (
    "UPDATE profiles SET analysis_requested_at = NULL "
    "WHERE user_id = %s AND analysis_requested_at = %s"
)


async def clear_reanalysis(
    conn: psycopg.AsyncConnection[Any], user_id: UUID, requested_at: datetime
) -> bool:
    """Clear the flag if it still holds `requested_at`; False when a newer save set it again."""
    cur = await conn.execute(_CLEAR_REANALYSIS_SQL, (user_id, requested_at))
    return cur.rowcount == 1
