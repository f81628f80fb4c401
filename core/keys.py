"""The Redis key space of EROS, in one place so that every process agrees on it."""

from __future__ import annotations

from uuid import UUID

# One sorted set for all users: member = the user's UUID as 16 raw bytes, score =
# last activity in epoch ms. Counting a phase is one ZCOUNT, O(log n).
ACTIVITY_KEY = "eros:activity"
# Per user: a set of the ids of the user's queued and running jobs (the halting index).
USER_JOBS_PREFIX = "eros:user-jobs:"


def user_jobs_key(user_id: UUID) -> str:
    return f"{USER_JOBS_PREFIX}{user_id}"

# Read-through caches (eros.core.cache), TTLs from settings: a user's own profile, the
# public profile others see, and computed recommendations (a JSON list of matches).
PROFILE_CACHE_PREFIX = "eros:profile:"
PUBLIC_PROFILE_CACHE_PREFIX = "eros:profile:public:"
RECOMMENDATIONS_CACHE_PREFIX = "eros:recommendations:"
# Per user and scope: the GCRA theoretical arrival time, epoch ms (eros.core.ratelimit).
RATE_LIMIT_PREFIX = "eros:ratelimit:"


def profile_cache_key(user_id: UUID) -> str:
    return f"{PROFILE_CACHE_PREFIX}{user_id}"


def public_profile_cache_key(user_id: UUID) -> str:
    return f"{PUBLIC_PROFILE_CACHE_PREFIX}{user_id}"


def recommendations_cache_key(user_id: UUID) -> str:
    return f"{RECOMMENDATIONS_CACHE_PREFIX}{user_id}"


def rate_limit_key(scope: str, user_id: UUID) -> str:
    return f"{RATE_LIMIT_PREFIX}{scope}:{user_id}"
