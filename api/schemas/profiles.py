"""Profile bodies: what a user writes about themselves, and what others may see of it."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Self, TypeVar
from uuid import UUID

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    HttpUrl,
    StrictInt,
    StringConstraints,
    computed_field,
    model_validator,
)

from eros.api.schemas.base import ApiModel, SuccessResponse
from eros.api.schemas.text import Text, single_line
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
    MAX_PLAUSIBLE_AGE_YEARS,
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
DisplayName = Annotated[str, Text(MAX_DISPLAY_NAME_CHARS, strip_whitespace=True)]
Bio = Annotated[str, Text(MAX_BIO_CHARS, min_length=0, multiline=True)]
City = Annotated[str, Text(MAX_CITY_CHARS, strip_whitespace=True)]


def _plain_url(url: HttpUrl) -> HttpUrl:
    if url.username or url.password:
        raise ValueError("must not contain credentials")
    return url


def _raw_single_line(value: object) -> object:
    # Checked before parsing: the URL parser would quietly percent-encode a NUL.
    return single_line(value) if isinstance(value, str) else value


PhotoUrl = Annotated[
    HttpUrl,
    Field(max_length=MAX_PHOTO_URL_CHARS),
    BeforeValidator(_raw_single_line),
    AfterValidator(_plain_url),
]


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


# A listed interest (the source documents' `interests: [...]`) says the user cares about
# it but not how much: three quarters of the slider, clearly above the neutral midpoint.
LISTED_INTEREST_SLIDER = 75
_KEY_SEPARATORS = re.compile(r"[\s-]+")


def _key_of(value: object) -> object:
    """`Live music` -> `live_music`: the documents' clients send words, not keys."""
    return _KEY_SEPARATORS.sub("_", value.strip().lower()) if isinstance(value, str) else value


ListedInterest = Annotated[str, BeforeValidator(_key_of), StringConstraints(pattern=KEY_PATTERN)]


class Preferences(ApiModel):
    """The source documents' `preferences`: whom the user looks for. Each field may be
    given here or at the top level of the profile, not both."""

    genders_sought: Annotated[list[Gender], Field(min_length=1), AfterValidator(_unique)] | None = (
        None
    )
    age_range: AgeRange | None = None
    max_distance_km: float | None = Field(None, gt=0, le=MAX_DISTANCE_KM, allow_inf_nan=False)


def _one_of(name: str, alias: str, value: T | None, documented: T | None) -> T | None:
    if value is not None and documented is not None and value != documented:
        raise ValueError(f"{name} and {alias} disagree; give one of them")
    return value if value is not None else documented


class ProfileUpdate(ProfileFields):
    """The whole profile (PUT replaces it); age is checked against the server's date.

    Also takes the source documents' fields (docs/api.md#profiles): `name` for
    `displayName`, `photos` for `photoUrls`, `age` for `birthDate`, a `location` that
    is only a city, `interests` as a list, and `preferences` grouping `gendersSought`,
    `ageRange` and `maxDistanceKm`. Without `gender`, it is `other`; without
    `gendersSought`, every gender."""

    # Optional here, as the documents' clients send their own names for them (below).
    display_name: DisplayName | None = None  # type: ignore[assignment]
    birth_date: date | None = Field(  # type: ignore[assignment]
        None, description=f"The user must be at least {MIN_AGE_YEARS}; or give `age`."
    )
    gender: Gender = Gender.OTHER
    genders_sought: Annotated[list[Gender], Field(min_length=1), AfterValidator(_unique)] = Field(
        default_factory=lambda: list(Gender)
    )
    location: Location | City | None = Field(  # type: ignore[assignment]
        None, description="Coordinates (and a city), or only a city's name."
    )
    interests: (
        Annotated[dict[Key, Slider], Field(max_length=MAX_INTERESTS)]
        | Annotated[list[ListedInterest], Field(max_length=MAX_INTERESTS), AfterValidator(_unique)]
    ) = Field(  # type: ignore[assignment]
        default_factory=dict,
        description=f"Keys rated {SLIDER_MIN}-{SLIDER_MAX}, or a list of keys "
        f"(each rated {LISTED_INTEREST_SLIDER}).",
    )
    name: DisplayName | None = Field(None, description="The documents' name for `displayName`.")
    photos: Annotated[list[PhotoUrl], Field(max_length=MAX_PHOTOS)] | None = Field(
        None, description="The documents' name for `photoUrls`."
    )
    age: StrictInt | None = Field(
        None,
        ge=MIN_AGE_YEARS,
        le=MAX_PLAUSIBLE_AGE_YEARS,
        description="Instead of `birthDate`: the birth date becomes today's date that many "
        "years ago.",
    )
    preferences: Preferences | None = None

    @model_validator(mode="after")
    def _documented_fields(self) -> Self:
        if self.name_given() is None:
            raise ValueError("displayName (or name) is required")
        if self.birth_date is None and self.age is None:
            raise ValueError("birthDate (or age) is required")
        _one_of("photoUrls", "photos", self.photo_urls or None, self.photos or None)
        prefs = self.preferences
        if prefs is not None:
            for field in prefs.model_fields_set & self.model_fields_set:
                alias = Preferences.model_fields[field].alias
                raise ValueError(f"{alias} is given both at the top level and in preferences")
        return self

    def name_given(self) -> str | None:
        return _one_of("displayName", "name", self.display_name, self.name)

    def photo_urls_given(self) -> list[str]:
        return [str(u) for u in (self.photo_urls or self.photos or [])]

    def interests_given(self) -> dict[str, int]:
        if isinstance(self.interests, list):
            return dict.fromkeys(self.interests, LISTED_INTEREST_SLIDER)
        return dict(self.interests)

    def preferences_given(self) -> tuple[list[Gender], AgeRange, float | None]:
        prefs = self.preferences or Preferences()
        return (
            prefs.genders_sought or self.genders_sought,
            prefs.age_range or self.age_range,
            prefs.max_distance_km if prefs.max_distance_km is not None else self.max_distance_km,
        )

    def birth_date_on(self, today: date) -> date:
        """`birthDate`, or the birth date of an `age` given today; both must agree."""
        if self.age is None:
            assert self.birth_date is not None  # _documented_fields requires one of them
            return self.birth_date
        if self.birth_date is not None and age_on(self.birth_date, today) != self.age:
            raise ValueError("birthDate and age disagree; give one of them")
        if self.birth_date is not None:
            return self.birth_date
        try:
            return today.replace(year=today.year - self.age)
        except ValueError:  # 29 February, in a year that has none
            return today.replace(year=today.year - self.age, day=28)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _, _, max_distance_km = self.preferences_given()
        if max_distance_km is not None and not isinstance(self.location, Location):
            raise ValueError("maxDistanceKm needs a location with coordinates")
        photo_urls = self.photo_urls_given()
        if len(set(photo_urls)) != len(photo_urls):
            raise ValueError("photoUrls must not contain duplicates")
        rated = {
            NonNegotiableKind.VALUE: set(self.values),
            NonNegotiableKind.INTEREST: set(self.interests_given()),
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

    def to_domain(self, user_id: UUID, birth_date: date) -> Profile:
        """The profile to store, `birth_date` from `birth_date_on`."""
        loc = self.location
        coordinates = loc if isinstance(loc, Location) else None
        genders_sought, age_range, max_distance_km = self.preferences_given()
        name = self.name_given()
        assert name is not None  # _documented_fields requires it
        return Profile(
            user_id=user_id,
            display_name=name,
            bio=self.bio,
            photo_urls=tuple(self.photo_urls_given()),
            birth_date=birth_date,
            gender=self.gender,
            genders_sought=tuple(genders_sought),
            age_min=age_range.min,
            age_max=age_range.max,
            latitude=coordinates.latitude if coordinates else None,
            longitude=coordinates.longitude if coordinates else None,
            city=coordinates.city if coordinates else loc if isinstance(loc, str) else None,
            max_distance_km=max_distance_km,
            interests=self.interests_given(),
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

    # The source documents' names, computed so that each fact keeps one owner.
    @computed_field(description="The same as `displayName`.")
    def name(self) -> str:
        return self.display_name

    @computed_field(description="The same as `photoUrls`.")
    def photos(self) -> list[str]:
        return [str(u) for u in self.photo_urls]

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
