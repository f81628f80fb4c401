"""The only user data the assistant ever sees: a summary of the caller's own profile.

Built from one primary-key read of the caller's profile row, keyed by the user id of the
verified access token; nothing in a message can change which row is read, and nothing
here reads another user's data (no matches, no interactions, no other profiles).
Coordinates and the birth date are left out: a city and the profile's shape are enough
to give advice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from uuid import UUID

from psycopg import OperationalError
from psycopg_pool import PoolTimeout

from eros.core.database import AsyncPool
from eros.core.profiles import Profile, get_profile

logger = logging.getLogger(__name__)

__all__ = ["OwnContext", "load_own_context"]

MAX_CONTEXT_INTERESTS = 5
MAX_CONTEXT_VALUES = 5


def _top(scores: dict[str, int], count: int) -> tuple[str, ...]:
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return tuple(key.replace("_", " ") for key, _ in ranked[:count])


@dataclass(frozen=True, slots=True)
class OwnContext:
    # False when the profile could not be read (PostgreSQL down): advice stays generic
    # rather than telling a user with a profile to create one.
    loaded: bool
    has_profile: bool = False
    display_name: str | None = None
    city: str | None = None
    bio: str = ""
    top_interests: tuple[str, ...] = ()
    top_values: tuple[str, ...] = ()
    conversation_depth: str | None = None
    photo_count: int = 0
    interest_count: int = 0
    value_count: int = 0
    availability_windows: int = 0
    off_limits_topics: tuple[str, ...] = ()

    @classmethod
    def unavailable(cls) -> OwnContext:
        return cls(loaded=False)

    @classmethod
    def from_profile(cls, profile: Profile | None) -> OwnContext:
        if profile is None:
            return cls(loaded=True, has_profile=False)
        return cls(
            loaded=True,
            has_profile=True,
            display_name=profile.display_name,
            city=profile.city,
            bio=profile.bio,
            top_interests=_top(profile.interests, MAX_CONTEXT_INTERESTS),
            top_values=_top(profile.values, MAX_CONTEXT_VALUES),
            conversation_depth=(
                profile.conversation_depth.value if profile.conversation_depth else None
            ),
            photo_count=len(profile.photo_urls),
            interest_count=len(profile.interests),
            value_count=len(profile.values),
            availability_windows=len(profile.availability),
            off_limits_topics=tuple(t.replace("_", " ") for t in profile.off_limits_topics),
        )

    def prompt_lines(self) -> list[str]:
        """The summary as `field: value` lines for the system prompt."""
        if not self.loaded:
            return ["(the user's profile could not be read right now)"]
        if not self.has_profile:
            return ["(the user has not created a profile yet)"]
        lines = [
            f"display name: {self.display_name}",
            f"city: {self.city or 'not set'}",
            f"bio ({len(self.bio)} characters): {self.bio or 'empty'}",
            f"photos: {self.photo_count}",
            f"top interests: {', '.join(self.top_interests) or 'none set'}",
            f"top values: {', '.join(self.top_values) or 'none set'}",
            f"conversation depth: {self.conversation_depth or 'not set'}",
            f"availability windows: {self.availability_windows}",
        ]
        if self.off_limits_topics:
            lines.append(
                f"topics the user does not want to discuss: {', '.join(self.off_limits_topics)}"
            )
        return lines


async def load_own_context(db: AsyncPool, user_id: UUID) -> OwnContext:
    """The caller's own summary; `user_id` must be the verified caller's. Never raises for
    an unreachable database: the assistant answers without personalisation instead."""
    try:
        async with db.connection() as conn:
            profile = await get_profile(conn, user_id)
    except (OperationalError, PoolTimeout):
        logger.warning("The assistant answers without a profile: PostgreSQL is unavailable.")
        return OwnContext.unavailable()
    return OwnContext.from_profile(profile)
