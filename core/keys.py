"""The Redis key space of EROS, in one place so that every process agrees on it."""

from __future__ import annotations

import hashlib
from uuid import UUID

# One sorted set for all users: member = the user's UUID as 16 raw bytes, score =
# last activity in epoch ms. Counting a phase is one ZCOUNT, O(log n).
ACTIVITY_KEY = "eros:activity"
# The same members, score = when the user's current session began, epoch ms: written by
# the heartbeat's script only when a session starts (after an idle spell of phase 1).
SESSION_START_KEY = "eros:activity:session-start"
# Per user: a set of the ids of the user's queued and running jobs (the halting index).
USER_JOBS_PREFIX = "eros:user-jobs:"


def user_jobs_key(user_id: UUID) -> str:
    return f"{USER_JOBS_PREFIX}{user_id}"


# Per suspended, banned or deleted account, for as long as its access tokens may live:
# heartbeats are refused (eros.core.activity). Named by a digest of the id, because the
# key outlives a deletion by minutes and must not hold the deleted member's id.
REFUSED_HEARTBEATS_PREFIX = "eros:heartbeats-refused:"
KEY_DIGEST_BYTES = 16


def key_digest(data: bytes) -> str:
    """How personal data goes into a key name when it must not be readable there."""
    return hashlib.blake2b(data, digest_size=KEY_DIGEST_BYTES).hexdigest()


def refused_heartbeats_key(user_id: UUID) -> str:
    return f"{REFUSED_HEARTBEATS_PREFIX}{key_digest(user_id.bytes)}"


# Read-through caches (eros.core.cache), TTLs from settings: a user's own profile, the
# public profile others see, and computed recommendations (a JSON list of matches).
PROFILE_CACHE_PREFIX = "eros:profile:"
PUBLIC_PROFILE_CACHE_PREFIX = "eros:profile:public:"
RECOMMENDATIONS_CACHE_PREFIX = "eros:recommendations:"
# Per subject (a user, or a hashed client address or email) and scope: the GCRA
# theoretical arrival time, epoch ms (eros.core.ratelimit).
RATE_LIMIT_PREFIX = "eros:ratelimit:"


def profile_cache_key(user_id: UUID) -> str:
    return f"{PROFILE_CACHE_PREFIX}{user_id}"


def public_profile_cache_key(user_id: UUID) -> str:
    return f"{PUBLIC_PROFILE_CACHE_PREFIX}{user_id}"


def recommendations_cache_key(user_id: UUID) -> str:
    return f"{RECOMMENDATIONS_CACHE_PREFIX}{user_id}"


# The phase jobs (eros.core.analysis): per user, the day's matches (JSON, 24 h) and the
# light phase's favourites and interaction summary (JSON, 1 h).
DAILY_MATCHES_CACHE_PREFIX = "eros:matches:daily:"
FAVOURITES_CACHE_PREFIX = "eros:favourites:"


# The population model's current version (eros.core.population_model): a read-through
# cache of the newest row of `population_models`, with a TTL.
POPULATION_MODEL_KEY = "eros:model:population"


def daily_matches_cache_key(user_id: UUID) -> str:
    return f"{DAILY_MATCHES_CACHE_PREFIX}{user_id}"


def favourites_cache_key(user_id: UUID) -> str:
    return f"{FAVOURITES_CACHE_PREFIX}{user_id}"


def rate_limit_key(scope: str, subject: UUID | str) -> str:
    return f"{RATE_LIMIT_PREFIX}{scope}:{subject}"


# Per (account, client address), both hashed: a hash of recent failed logins and the
# lockout they earned (eros.core.login_lockout), expiring with the failures' memory.
LOGIN_FAILURES_PREFIX = "eros:login-failures:"


def login_failures_key(account: str, address: str) -> str:
    return f"{LOGIN_FAILURES_PREFIX}{account}:{address}"


# The job pipeline (docs/pipeline.md). RQ keeps its own `rq:*` keys for jobs and queues.
# Per job: present once a heartbeat halted the job; value = when it arrived (epoch ms).
HALT_PREFIX = "eros:halt:"
# Per (phase, user): the checkpoint of that user's unfinished work in that phase (JSON).
CHECKPOINT_PREFIX = "eros:checkpoint:"
# The active scheduler's name, with a TTL: whoever holds it schedules.
SCHEDULER_LEASE_KEY = "eros:scheduler:lease"
# Hash phase -> epoch ms: threshold crossings up to this time have been scheduled.
SCHEDULER_WATERMARKS_KEY = "eros:scheduler:watermarks"
# Hash: the active scheduler's last tick (name, time, duration), for the status view.
SCHEDULER_STATE_KEY = "eros:scheduler:state"
# List of JSON records of the latest halts, newest first, capped.
RECENT_HALTS_KEY = "eros:halts:recent"
# The phase configuration the operator derived from the ErosProcessing (JSON, no TTL: it
# holds until the resource changes or is deleted), and a hash component -> JSON of the
# generation each component last read (eros.core.phase_config).
PHASE_CONFIG_KEY = "eros:phase-config"
PHASE_CONFIG_FOLLOWERS_KEY = "eros:phase-config:followers"
# The console's history (eros.pipeline.history): a sorted set of per-minute samples, score
# = the minute's start (epoch ms), member = JSON, trimmed to the retention; and a capped
# list of JSON records of running jobs' halt latencies, newest first, written by workers.
HISTORY_KEY = "eros:history:minutes"
HALT_LATENCIES_KEY = "eros:halts:latencies"
# The operator's last plan (eros.pipeline.operator_plan): JSON, rewritten every tick.
OPERATOR_PLAN_KEY = "eros:operator:plan"


def halt_key(job_id: str) -> str:
    return f"{HALT_PREFIX}{job_id}"


def checkpoint_key(phase: int, user_id: UUID) -> str:
    return f"{CHECKPOINT_PREFIX}{phase}:{user_id}"


# The assistant (eros.core.assistant). Per (user, conversation): a list of JSON messages,
# oldest first, capped, expiring a week after the last one. The user's id in the key is
# what makes a conversation readable by its owner only.
ASSISTANT_CONVERSATION_PREFIX = "eros:assistant:conversation:"
# Per (purpose, user, UTC day): how many Claude calls were made (eros.core.llm.budget).
LLM_BUDGET_PREFIX = "eros:llm-budget:"


def assistant_conversation_key(user_id: UUID, conversation_id: UUID) -> str:
    return f"{ASSISTANT_CONVERSATION_PREFIX}{user_id}:{conversation_id}"


def llm_budget_key(purpose: str, user_id: UUID, day: str) -> str:
    return f"{LLM_BUDGET_PREFIX}{purpose}:{user_id}:{day}"


# Per job, briefly: the Claude calls its work horse made, until its worker counts them.
LLM_CALLS_PREFIX = "eros:llm-calls:"


def llm_calls_key(job_id: str) -> str:
    return f"{LLM_CALLS_PREFIX}{job_id}"


# Per ErosProcessing ("namespace/name"): the operator's learned return model (a JSON of
# returns per hour of day and idle-age bucket, eros.operator.forecast) for pre-scaling.
RETURN_MODEL_PREFIX = "eros:forecast:returns:"


def return_model_key(source: str) -> str:
    return f"{RETURN_MODEL_PREFIX}{source}"
