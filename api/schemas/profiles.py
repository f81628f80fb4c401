"""Profile bodies: what a user writes about themselves, and what others may see of it."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Self, TypeVar
from uuid import UUID

from pydantic import AfterValidator, Field, HttpUrl, StrictInt, StringConstraints, model_validator

from eros.api.schemas.base import ApiModel, SuccessResponse
from eros.api.schemas.text import multiline, single_line
from eros.core.matching.profile import (
    MINUTES_PER_DAY,
    AvailabilityWindow,
    NonNegotiable,
    NonNegotiableKind,
)
from eros.core.profiles import (
    KEY_PATTERN,
    MAX_AVAILABILITY_WINDOWS,
    MAX_BIO_CHARS,
    MAX_CITY_CHARS,
    MAX_DISPLAY_NAME_CHARS,
    MAX_DISTANCE_KM,
    MAX_INTERESTS,
    MAX_NON_NEGOTIABLES,
    MAX_OFF_LIMITS_TOPICS,
    MAX_PHOTO_URL_CHARS,
    MAX_PHOTOS,
    MAX_SOUGHT_AGE_YEARS,
    MAX_VALUES,
    MIN_AGE_YEARS,
    SLIDER_MAX,
    SLIDER_MIN,
    CommunicationDimension,
    ConversationDepth,
    Gender,
    Profile,
    Weekday,
    age_on,
)

T = TypeVar("T")
_CLOCK_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN)]
Slider = Annotated[StrictInt, Field(ge=SLIDER_MIN, le=SLIDER_MAX)]
SoughtAge = Annotated[StrictInt, Field(ge=MIN_AGE_YEARS, le=MAX_SOUGHT_AGE_YEARS)]
DisplayName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_DISPLAY_NAME_CHARS),
    AfterValidator(single_line),
]
Bio = Annotated[str, Field(max_length=MAX_BIO_CHARS), AfterValidator(multiline)]
City = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_CITY_CHARS),
    AfterValidator(single_line),
]


def _plain_url(url: HttpUrl) -> HttpUrl:
    if url.username or url.password:
        raise ValueError("must not contain credentials")
    return url


PhotoUrl = Annotated[HttpUrl, Field(max_length=MAX_PHOTO_URL_CHARS), AfterValidator(_plain_url)]


def _minutes(clock_time: str) -> int:
    hours, minutes = clock_time.split(":")
    return int(hours) * 60 + int(minutes)


class AgeRange(ApiModel):
    min: SoughtAge = MIN_AGE_YEARS
    max: SoughtAge = MAX_SOUGHT_AGE_YEARS

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


class Location(ApiModel):
    latitude: float = Field(ge=-90, le=90, allow_inf_nan=False)
    longitude: float = Field(ge=-180, le=180, allow_inf_nan=False)
    city: City | None = None


class AvailabilitySlot(ApiModel):
    """A weekly window in the user's local time, `HH:MM`; `end` may be `24:00`."""

    weekday: Weekday
    start: str = Field(pattern=_CLOCK_TIME.pattern, examples=["18:30"])
    end: str = Field(pattern=_CLOCK_TIME.pattern, examples=["22:00"])

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if _minutes(self.start) >= _minutes(self.end):
            raise ValueError("start must be before end")
        return self

    def to_window(self) -> AvailabilityWindow:
        return AvailabilityWindow(self.weekday.number, _minutes(self.start), _minutes(self.end))

    @classmethod
    def from_window(cls, window: AvailabilityWindow) -> AvailabilitySlot:
        def clock(minutes: int) -> str:
            return f"{minutes // 60:02d}:{minutes % 60:02d}"

        return cls(
            weekday=list(Weekday)[window.weekday],
            start=clock(window.start_minute),
            end=clock(min(window.end_minute, MINUTES_PER_DAY)),
        )


class NonNegotiableItem(ApiModel):
    """`value`/`interest`: a key of the user's own values/interests; `preference`: a
    communication-style dimension the user rated."""

    kind: NonNegotiableKind
    key: Key


def _unique(items: list[T]) -> list[T]:
    if len(set(items)) != len(items):
        raise ValueError("must not contain duplicates")
    return items


class ProfileFields(ApiModel):
    """Everything a user says about themselves and what they look for."""

    display_name: DisplayName
    bio: Bio = ""
    photo_urls: Annotated[list[PhotoUrl], Field(max_length=MAX_PHOTOS)] = Field(
        default_factory=list, description=f"At most {MAX_PHOTOS} http(s) URLs."
    )
    birth_date: date = Field(description=f"The user must be at least {MIN_AGE_YEARS}.")
    gender: Gender
    genders_sought: Annotated[list[Gender], Field(min_length=1), AfterValidator(_unique)]
    age_range: AgeRange = Field(default_factory=AgeRange)
    location: Location | None = None
    max_distance_km: float | None = Field(
        None, gt=0, le=MAX_DISTANCE_KM, allow_inf_nan=False, description="null: no limit."
    )
    interests: Annotated[dict[Key, Slider], Field(max_length=MAX_INTERESTS)] = Field(
        default_factory=dict
    )
    values: Annotated[dict[Key, Slider], Field(max_length=MAX_VALUES)] = Field(default_factory=dict)
    communication_style: dict[CommunicationDimension, Slider] = Field(default_factory=dict)
    conversation_depth: ConversationDepth | None = None
    availability: Annotated[list[AvailabilitySlot], Field(max_length=MAX_AVAILABILITY_WINDOWS)] = (
        Field(default_factory=list)
    )
    off_limits_topics: Annotated[
        list[Key], Field(max_length=MAX_OFF_LIMITS_TOPICS), AfterValidator(_unique)
    ] = Field(default_factory=list)
    non_negotiables: Annotated[
        list[NonNegotiableItem], Field(max_length=MAX_NON_NEGOTIABLES), AfterValidator(_unique)
    ] = Field(default_factory=list)


class ProfileUpdate(ProfileFields):
    """The whole profile (PUT replaces it); age is checked against the server's date."""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.max_distance_km is not None and self.location is None:
            raise ValueError("maxDistanceKm needs a location")
        if len({str(u) for u in self.photo_urls}) != len(self.photo_urls):
            raise ValueError("photoUrls must not contain duplicates")
        rated = {
            NonNegotiableKind.VALUE: set(self.values),
            NonNegotiableKind.INTEREST: set(self.interests),
            NonNegotiableKind.PREFERENCE: {d.value for d in self.communication_style},
        }
        for item in self.non_negotiables:
            if item.key not in rated[item.kind]:
                raise ValueError(
                    f"non-negotiable {item.kind.value} {item.key!r} must be one the profile rates"
                )
        clash = set(self.off_limits_topics) & {n.key for n in self.non_negotiables}
        if clash:
            raise ValueError(f"{sorted(clash)} cannot be both off limits and non-negotiable")
        return self

    def to_domain(self, user_id: UUID) -> Profile:
        loc = self.location
        return Profile(
            user_id=user_id,
            display_name=self.display_name,
            bio=self.bio,
            photo_urls=tuple(str(u) for u in self.photo_urls),
            birth_date=self.birth_date,
            gender=self.gender,
            genders_sought=tuple(self.genders_sought),
            age_min=self.age_range.min,
            age_max=self.age_range.max,
            latitude=loc.latitude if loc else None,
            longitude=loc.longitude if loc else None,
            city=loc.city if loc else None,
            max_distance_km=self.max_distance_km,
            interests=dict(self.interests),
            values=dict(self.values),
            communication_style={k.value: v for k, v in self.communication_style.items()},
            conversation_depth=self.conversation_depth,
            availability=tuple(slot.to_window() for slot in self.availability),
            off_limits_topics=tuple(self.off_limits_topics),
            non_negotiables=tuple(NonNegotiable(n.kind, n.key) for n in self.non_negotiables),
        )


class OwnProfile(ProfileFields):
    user_id: UUID
    age: int
    updated_at: datetime | None = None

    @classmethod
    def from_domain(cls, profile: Profile, today: date) -> OwnProfile:
        location = None
        if profile.latitude is not None and profile.longitude is not None:
            location = Location(
                latitude=profile.latitude, longitude=profile.longitude, city=profile.city
            )
        return cls(
            user_id=profile.user_id,
            age=age_on(profile.birth_date, today),
            updated_at=profile.updated_at,
            display_name=profile.display_name,
            bio=profile.bio,
            photo_urls=[HttpUrl(u) for u in profile.photo_urls],
            birth_date=profile.birth_date,
            gender=profile.gender,
            genders_sought=list(profile.genders_sought),
            age_range=AgeRange(min=profile.age_min, max=profile.age_max),
            location=location,
            max_distance_km=profile.max_distance_km,
            interests=profile.interests,
            values=profile.values,
            communication_style={
                CommunicationDimension(k): v for k, v in profile.communication_style.items()
            },
            conversation_depth=profile.conversation_depth,
            availability=[AvailabilitySlot.from_window(w) for w in profile.availability],
            off_limits_topics=list(profile.off_limits_topics),
            non_negotiables=[
                NonNegotiableItem(kind=n.kind, key=n.key) for n in profile.non_negotiables
            ],
        )


class ProfileResponse(SuccessResponse):
    profile: OwnProfile


class PublicProfile(ApiModel):
    """What other users may see: no birth date, exact location, preferences or limits."""

    user_id: UUID
    display_name: str
    age: int
    gender: Gender
    bio: str
    photo_urls: list[str]
    city: str | None
    interests: dict[str, int]
    conversation_depth: ConversationDepth | None

    @classmethod
    def from_domain(cls, profile: Profile, today: date) -> PublicProfile:
        return cls(
            user_id=profile.user_id,
            display_name=profile.display_name,
            age=age_on(profile.birth_date, today),
            gender=profile.gender,
            bio=profile.bio,
            photo_urls=list(profile.photo_urls),
            city=profile.city,
            interests=profile.interests,
            conversation_depth=profile.conversation_depth,
        )


class PublicProfileResponse(SuccessResponse):
    profile: PublicProfile
