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
