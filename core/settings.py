"""The one settings class of EROS, read from `EROS_*` environment variables."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from eros.core.offpeak import OffPeakError, parse_windows, time_zone
from eros.core.phases import DEFAULT_IDLE_SECONDS, DEFAULT_QUEUES

DEV_JWT_SECRET = "eros-development-secret-change-me"
DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 15 * 60
DEFAULT_REFRESH_TOKEN_TTL_SECONDS = 30 * 24 * 3600
DEFAULT_ACTIVITY_RETENTION_SECONDS = 30 * 24 * 3600
DEFAULT_MAX_BODY_BYTES = 64 * 1024
# Cache lifetimes from the source documents: profile 12 h (public 5 min), recommendations 24 h.
DEFAULT_PROFILE_CACHE_TTL_SECONDS = 12 * 3600
DEFAULT_PUBLIC_PROFILE_CACHE_TTL_SECONDS = 5 * 60
DEFAULT_RECOMMENDATIONS_CACHE_TTL_SECONDS = 24 * 3600
DEFAULT_DAILY_MATCHES_CACHE_TTL_SECONDS = 24 * 3600
# A phase-3 job refreshes its worker's shared candidate pool first when it is older.
DEFAULT_CANDIDATE_POOL_REFRESH_SECONDS = 60.0
# A recommendations cache miss ranks at most this many candidates in the request
# (newest-updated first); the full computation is queued for the workers.
DEFAULT_RECOMMENDATIONS_CHEAP_CANDIDATE_CAP = 300
# A failed on-demand recommendations job keeps its id this long, so a user whose
# computation fails is not retried on every request.
DEFAULT_RECOMMENDATIONS_JOB_FAILURE_TTL_SECONDS = 5 * 60
DEFAULT_WORKER_WORK_MODULES = ("eros.worker.phases",)
DEFAULT_IDEMPOTENCY_KEY_TTL_SECONDS = 24 * 3600
DEFAULT_RATE_LIMIT_WRITES_PER_MINUTE = 60
DEFAULT_RATE_LIMIT_REPORTS_PER_HOUR = 20
# Privacy (docs/api.md#privacy): exports and deletions per user and hour, and how long
# behaviour is kept (eros.core.retention), pruned by a job on the phase-1 workers' budget.
DEFAULT_PRIVACY_REQUESTS_PER_HOUR = 10
DEFAULT_INTERACTION_RETENTION_SECONDS = 365 * 24 * 3600
DEFAULT_SHOWN_HISTORY_RETENTION_SECONDS = 90 * 24 * 3600
DEFAULT_RETENTION_INTERVAL_SECONDS = 3600
DEFAULT_RETENTION_BATCH_ROWS = 5000
# Served by phase 1's workers, after their own queue (eros.pipeline.maintenance).
DEFAULT_MAINTENANCE_QUEUE = "eros-maintenance"
# The population model's fit job (eros.core.population_training), on the same queue.
DEFAULT_MODEL_FIT_INTERVAL_SECONDS = 6 * 3600
DEFAULT_MODEL_FIT_MIN_NEW_DECISIONS = 1000
# Account protection (docs/api.md#accounts): per client address the limits leave room for
# a shared address (an office, a carrier's NAT); per account they bound guessing.
DEFAULT_REGISTER_PER_ADDRESS_PER_HOUR = 20
DEFAULT_REGISTER_PER_EMAIL_PER_HOUR = 5
DEFAULT_LOGIN_PER_ADDRESS_PER_MINUTE = 30
DEFAULT_LOGIN_PER_ACCOUNT_PER_MINUTE = 10
DEFAULT_REFRESH_PER_ADDRESS_PER_MINUTE = 60
DEFAULT_REFRESH_PER_USER_PER_MINUTE = 10
DEFAULT_LOGIN_FREE_FAILURES = 5
DEFAULT_LOGIN_LOCKOUT_BASE_SECONDS = 1.0
DEFAULT_LOGIN_LOCKOUT_MAX_SECONDS = 15 * 60.0
DEFAULT_LOGIN_FAILURE_MEMORY_SECONDS = 24 * 3600.0
MIN_JWT_SECRET_LENGTH = 32
# The job pipeline (scheduler, workers, halting); see docs/pipeline.md.
DEFAULT_SCHEDULER_TICK_SECONDS = 1.0
DEFAULT_SCHEDULER_LEASE_SECONDS = 5.0
DEFAULT_SCHEDULER_BATCH_USERS = 1000
# The console's per-minute history (eros.pipeline.history): twelve hours of samples.
DEFAULT_HISTORY_RETENTION_MINUTES = 720
DEFAULT_RECOVERY_INTERVAL_SECONDS = 5.0
DEFAULT_METRICS_PORT = 9100
# Pods are probed and scraped on their own IP, so the probe server listens on every interface.
DEFAULT_METRICS_HOST = "0.0.0.0"
DEFAULT_CHECKPOINT_CPU_SECONDS = 1.0
DEFAULT_CHECKPOINT_TTL_SECONDS = 7 * 24 * 3600
# Only a fallback for a lost pub/sub stop command; every running job polls this often.
DEFAULT_HALT_POLL_SECONDS = 1.0
DEFAULT_HALT_GRACE_SECONDS = 2.0
DEFAULT_HALTED_JOB_TTL_SECONDS = 24 * 3600
DEFAULT_WORKER_SHUTDOWN_GRACE_SECONDS = 10.0
DEFAULT_WORKER_HEARTBEAT_SECONDS = 5
DEFAULT_WORKER_ABANDONED_AFTER_SECONDS = 20
DEFAULT_JOB_TIMEOUT_SECONDS = 3600
DEFAULT_JOB_RESULT_TTL_SECONDS = 24 * 3600
DEFAULT_JOB_RETRY_MAX = 3
DEFAULT_JOB_RETRY_BACKOFF_SECONDS = [10, 60, 300]
DEFAULT_OFF_PEAK_TIMEZONE = "UTC"
# Claude (eros.core.llm): phase 3's "ultimate preferences" call and the assistant.
DEFAULT_ANTHROPIC_MODEL = "claude-sonnet-4-6"
DEFAULT_ANTHROPIC_TIMEOUT_SECONDS = 30.0
DEFAULT_ANTHROPIC_MAX_RETRIES = 2
# Retries multiply the worst-case latency and the bill; more than this is never useful.
MAX_ANTHROPIC_RETRIES = 5
DEFAULT_ANTHROPIC_MAX_TOKENS = 1024
DEFAULT_ANTHROPIC_ANALYSIS_CALLS_PER_DAY = 1
# The assistant answers a waiting user, so its calls are shorter and give up sooner.
DEFAULT_ASSISTANT_TIMEOUT_SECONDS = 10.0
DEFAULT_ASSISTANT_MAX_RETRIES = 1
DEFAULT_ASSISTANT_MAX_TOKENS = 512
DEFAULT_ASSISTANT_REQUESTS_PER_MINUTE = 10
DEFAULT_ASSISTANT_CLAUDE_CALLS_PER_DAY = 100
# Conversations live 7 days after their last message (the source documents' TTL).
DEFAULT_ASSISTANT_CONVERSATION_TTL_SECONDS = 7 * 24 * 3600
DEFAULT_ASSISTANT_MAX_CONVERSATION_MESSAGES = 50


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class LogFormat(StrEnum):
    JSON = "json"
    TEXT = "text"


class Settings(BaseSettings):
    """Every setting of EROS; the README's table is generated from these descriptions."""

    model_config = SettingsConfigDict(env_prefix="EROS_", extra="ignore", frozen=True)

    environment: Environment = Field(
        Environment.DEVELOPMENT,
        description="development, test or production; production refuses development defaults.",
    )
    redis_url: str | None = Field(
        None, description="Redis/Valkey URL. Unset: `eros dev` starts an embedded Valkey."
    )
    database_url: str | None = Field(
        None, description="PostgreSQL URL. Unset: `eros dev` starts an embedded PostgreSQL."
    )
    data_dir: Path = Field(
        Path(".eros"), description="Where `eros dev` keeps the embedded servers' data."
    )
    api_host: str = Field("127.0.0.1", description="Address `eros api` listens on.")
    api_port: int = Field(8000, ge=1, le=65535, description="Port `eros api` listens on.")
    jwt_secret: SecretStr = Field(
        SecretStr(DEV_JWT_SECRET),
        description="HMAC key for access tokens; at least 32 characters outside development.",
    )
    access_token_ttl_seconds: int = Field(
        DEFAULT_ACCESS_TOKEN_TTL_SECONDS, gt=0, description="Lifetime of an access token."
    )
    refresh_token_ttl_seconds: int = Field(
        DEFAULT_REFRESH_TOKEN_TTL_SECONDS, gt=0, description="Lifetime of a refresh token."
    )
    cors_origins: list[str] = Field(
        default_factory=list, description='Allowed CORS origins, a JSON list: `["https://app"]`.'
    )
    max_body_bytes: int = Field(
        DEFAULT_MAX_BODY_BYTES, gt=0, description="Requests with larger bodies get 413."
    )
    phase_idle_seconds: Annotated[list[int], Field(min_length=3, max_length=3)] = Field(
        default_factory=lambda: list(DEFAULT_IDLE_SECONDS),
        description="Idle seconds after which a user enters phases 1, 2 and 3 (JSON list); "
        "the ErosProcessing's, once an operator publishes it, take precedence.",
    )
    phase_queues: Annotated[list[str], Field(min_length=3, max_length=3)] = Field(
        default_factory=lambda: list(DEFAULT_QUEUES),
        description="RQ queue of each phase (JSON list); the ErosProcessing's, once an "
        "operator publishes it, take precedence.",
    )
    activity_retention_seconds: int = Field(
        DEFAULT_ACTIVITY_RETENTION_SECONDS,
        gt=0,
        description="Users idle longer than this are pruned from activity tracking.",
    )
    profile_cache_ttl_seconds: int = Field(
        DEFAULT_PROFILE_CACHE_TTL_SECONDS, gt=0, description="How long an own profile is cached."
    )
    public_profile_cache_ttl_seconds: int = Field(
        DEFAULT_PUBLIC_PROFILE_CACHE_TTL_SECONDS,
        gt=0,
        description="How long a public profile (what others see) is cached.",
    )
    recommendations_cache_ttl_seconds: int = Field(
        DEFAULT_RECOMMENDATIONS_CACHE_TTL_SECONDS,
        gt=0,
        description="How long computed recommendations are cached.",
    )
    recommendations_cheap_candidate_cap: int = Field(
        DEFAULT_RECOMMENDATIONS_CHEAP_CANDIDATE_CAP,
        gt=0,
        description="Candidates a recommendations cache miss ranks inside the request "
        "(without a usable daily set); the full computation runs on the workers.",
    )
    recommendations_job_failure_ttl_seconds: int = Field(
        DEFAULT_RECOMMENDATIONS_JOB_FAILURE_TTL_SECONDS,
        gt=0,
        description="How long a failed on-demand recommendations job blocks a new one "
        "for the same user.",
    )
    daily_matches_cache_ttl_seconds: int = Field(
        DEFAULT_DAILY_MATCHES_CACHE_TTL_SECONDS,
        gt=0,
        description="How long daily matches stay cached after they were generated.",
    )
    candidate_pool_refresh_seconds: float = Field(
        DEFAULT_CANDIDATE_POOL_REFRESH_SECONDS,
        gt=0,
        description="A phase-3 worker refreshes its shared candidate pool (profiles, "
        "visibility, counts, standing) before a job when it is older than this.",
    )
    idempotency_key_ttl_seconds: int = Field(
        DEFAULT_IDEMPOTENCY_KEY_TTL_SECONDS,
        gt=0,
        description="How long a write's Idempotency-Key and stored response are kept.",
    )
    rate_limit_writes_per_minute: int = Field(
        DEFAULT_RATE_LIMIT_WRITES_PER_MINUTE,
        gt=0,
        description="Per user and kind of write (profile, actions, interactions, blocks).",
    )
    rate_limit_reports_per_hour: int = Field(
        DEFAULT_RATE_LIMIT_REPORTS_PER_HOUR, gt=0, description="Reports a user may file per hour."
    )
    privacy_requests_per_hour: int = Field(
        DEFAULT_PRIVACY_REQUESTS_PER_HOUR,
        gt=0,
        description="Data exports and account deletion attempts a user may make per hour.",
    )
    interaction_retention_seconds: int = Field(
        DEFAULT_INTERACTION_RETENTION_SECONDS,
        gt=0,
        description="Interactions (likes, skips, messages...) older than this are deleted.",
    )
    shown_history_retention_seconds: int = Field(
        DEFAULT_SHOWN_HISTORY_RETENTION_SECONDS,
        gt=0,
        description="Who was shown to whom is forgotten this long after it was last shown.",
    )
    retention_interval_seconds: int = Field(
        DEFAULT_RETENTION_INTERVAL_SECONDS,
        gt=0,
        description="How often the scheduler enqueues the retention job.",
    )
    maintenance_queue: str = Field(
        DEFAULT_MAINTENANCE_QUEUE,
        min_length=1,
        description="RQ queue of maintenance jobs (retention); phase 1's workers take them "
        "when their own queue is empty.",
    )
    retention_batch_rows: int = Field(
        DEFAULT_RETENTION_BATCH_ROWS,
        gt=0,
        description="Rows the retention job deletes per statement (one short transaction each).",
    )
    model_fit_interval_seconds: int = Field(
        DEFAULT_MODEL_FIT_INTERVAL_SECONDS,
        gt=0,
        description="How often the scheduler enqueues the population model's fit job.",
    )
    model_fit_min_new_decisions: int = Field(
        DEFAULT_MODEL_FIT_MIN_NEW_DECISIONS,
        gt=0,
        description="Likes and skips that must arrive after the current model version before "
        "the fit job fits the next one (else it does nothing).",
    )
    register_per_address_per_hour: int = Field(
        DEFAULT_REGISTER_PER_ADDRESS_PER_HOUR,
        gt=0,
        description="Registrations per client address (IPv6: per /64) per hour.",
    )
    register_per_email_per_hour: int = Field(
        DEFAULT_REGISTER_PER_EMAIL_PER_HOUR,
        gt=0,
        description="Registrations per email address per hour, whoever sends them.",
    )
    login_per_address_per_minute: int = Field(
        DEFAULT_LOGIN_PER_ADDRESS_PER_MINUTE,
        gt=0,
        description="Login attempts per client address (IPv6: per /64) per minute.",
    )
    login_per_account_per_minute: int = Field(
        DEFAULT_LOGIN_PER_ACCOUNT_PER_MINUTE,
        gt=0,
        description="Login attempts per email address per minute, from all addresses.",
    )
    refresh_per_address_per_minute: int = Field(
        DEFAULT_REFRESH_PER_ADDRESS_PER_MINUTE,
        gt=0,
        description="Token refreshes per client address (IPv6: per /64) per minute.",
    )
    refresh_per_user_per_minute: int = Field(
        DEFAULT_REFRESH_PER_USER_PER_MINUTE,
        gt=0,
        description="Token refreshes per user (the refresh token's owner) per minute.",
    )
    login_free_failures: int = Field(
        DEFAULT_LOGIN_FREE_FAILURES,
        ge=1,
        description="Failed logins in a row, per account and client address, before a lockout.",
    )
    login_lockout_base_seconds: float = Field(
        DEFAULT_LOGIN_LOCKOUT_BASE_SECONDS,
        gt=0,
        description="The first lockout; each further failure doubles it, up to the maximum.",
    )
    login_lockout_max_seconds: float = Field(
        DEFAULT_LOGIN_LOCKOUT_MAX_SECONDS,
        gt=0,
        description="The longest lockout, however many failures (at least the base).",
    )
    login_failure_memory_seconds: float = Field(
        DEFAULT_LOGIN_FAILURE_MEMORY_SECONDS,
        gt=0,
        description="Failed logins are forgotten this long after the last one "
        "(at least the longest lockout).",
    )
    scheduler_tick_seconds: float = Field(
        DEFAULT_SCHEDULER_TICK_SECONDS,
        gt=0,
        description="How often the scheduler looks for users who crossed a phase threshold.",
    )
    history_retention_minutes: int = Field(
        DEFAULT_HISTORY_RETENTION_MINUTES,
        ge=1,
        description="How many minutes of per-minute samples the scheduler keeps for the "
        "console's charts (one sample of a few hundred bytes each).",
    )
    scheduler_lease_seconds: float = Field(
        DEFAULT_SCHEDULER_LEASE_SECONDS,
        gt=0,
        description="Lease of the active scheduler; a standby takes over this long after it dies.",
    )
    scheduler_batch_users: int = Field(
        DEFAULT_SCHEDULER_BATCH_USERS,
        gt=0,
        description="Users read per range query and enqueued per Redis round trip.",
    )
    scheduler_metrics_port: int = Field(
        DEFAULT_METRICS_PORT,
        ge=0,
        le=65535,
        description="Port of the scheduler's /metrics, /healthz and /readyz; 0 disables them.",
    )
    metrics_host: str = Field(
        DEFAULT_METRICS_HOST,
        description="Address of the scheduler's and workers' /metrics, /healthz and /readyz.",
    )
    recovery_interval_seconds: float = Field(
        DEFAULT_RECOVERY_INTERVAL_SECONDS,
        gt=0,
        description="How often the scheduler requeues jobs whose worker died.",
    )
    phase_off_peak: Annotated[list[str | None], Field(min_length=3, max_length=3)] = Field(
        default_factory=lambda: list[str | None]([None, None, None]),
        description='Hours each phase may run, e.g. `[null, null, "23:00-07:00"]`; null: any; '
        "the ErosProcessing's, once an operator publishes it, take precedence.",
    )
    off_peak_timezone: str = Field(
        DEFAULT_OFF_PEAK_TIMEZONE, description="IANA time zone of the off-peak windows."
    )
    worker_metrics_port: int = Field(
        DEFAULT_METRICS_PORT,
        ge=0,
        le=65535,
        description="Port of a worker's /metrics, /healthz and /readyz; 0 disables them.",
    )
    worker_work_modules: list[str] = Field(
        default_factory=lambda: list(DEFAULT_WORKER_WORK_MODULES),
        description="Modules whose `register_work(registry)` provides the phases' work (JSON).",
    )
    worker_heartbeat_seconds: int = Field(
        DEFAULT_WORKER_HEARTBEAT_SECONDS,
        gt=0,
        description="How often a busy worker proves that its job is still running.",
    )
    worker_abandoned_after_seconds: int = Field(
        DEFAULT_WORKER_ABANDONED_AFTER_SECONDS,
        gt=0,
        description="A running job not heard of for this long is requeued (its worker died).",
    )
    worker_shutdown_grace_seconds: float = Field(
        DEFAULT_WORKER_SHUTDOWN_GRACE_SECONDS,
        gt=0,
        description="On SIGTERM, how long the running job has to checkpoint before it is killed.",
    )
    checkpoint_cpu_seconds: float = Field(
        DEFAULT_CHECKPOINT_CPU_SECONDS,
        gt=0,
        description="CPU time between checkpoints: the most work a crash or halt can undo.",
    )
    checkpoint_ttl_seconds: int = Field(
        DEFAULT_CHECKPOINT_TTL_SECONDS,
        gt=0,
        description="How long an unfinished job's checkpoint waits for the user's next idle time.",
    )
    halt_poll_seconds: float = Field(
        DEFAULT_HALT_POLL_SECONDS,
        gt=0,
        description="How often a running job checks Redis for a halt it was not signalled.",
    )
    halt_grace_seconds: float = Field(
        DEFAULT_HALT_GRACE_SECONDS,
        gt=0,
        description="How long a halted job may take to stop by itself before it is killed.",
    )
    halted_job_ttl_seconds: int = Field(
        DEFAULT_HALTED_JOB_TTL_SECONDS, gt=0, description="How long halted jobs are kept."
    )
    job_timeout_seconds: int = Field(
        DEFAULT_JOB_TIMEOUT_SECONDS, gt=0, description="A job running longer than this fails."
    )
    job_result_ttl_seconds: int = Field(
        DEFAULT_JOB_RESULT_TTL_SECONDS, gt=0, description="How long finished jobs are kept."
    )
    job_retry_max: int = Field(
        DEFAULT_JOB_RETRY_MAX, ge=0, description="Retries of a job that raised; halts never retry."
    )
    job_retry_backoff_seconds: list[int] = Field(
        default_factory=lambda: list(DEFAULT_JOB_RETRY_BACKOFF_SECONDS),
        min_length=1,
        description="Delay before each retry (JSON list; the last one repeats).",
    )
    db_pool_min_size: int = Field(1, ge=0, description="Minimum PostgreSQL pool connections.")
    db_pool_max_size: int = Field(10, ge=1, description="Maximum PostgreSQL pool connections.")
    anthropic_api_key: SecretStr | None = Field(
        None, description="Anthropic API key; unset: the rule-based fallback is used."
    )
    anthropic_model: str = Field(
        DEFAULT_ANTHROPIC_MODEL,
        description="Claude model used for deep analysis and the assistant.",
    )
    anthropic_base_url: str | None = Field(
        None, description="Anthropic API base URL (a proxy or a test server); unset: Anthropic's."
    )
    anthropic_timeout_seconds: float = Field(
        DEFAULT_ANTHROPIC_TIMEOUT_SECONDS,
        gt=0,
        description="Timeout of one attempt of a deep-analysis Claude call.",
    )
    anthropic_max_retries: int = Field(
        DEFAULT_ANTHROPIC_MAX_RETRIES,
        ge=0,
        le=MAX_ANTHROPIC_RETRIES,
        description="Retries of a deep-analysis Claude call after a timeout, 429 or 5xx.",
    )
    anthropic_max_tokens: int = Field(
        DEFAULT_ANTHROPIC_MAX_TOKENS,
        gt=0,
        description="Most output tokens of a deep-analysis Claude call.",
    )
    anthropic_structured_outputs: bool = Field(
        True,
        description="Ask Claude for schema-constrained JSON (the model must support it); "
        "replies are validated either way.",
    )
    anthropic_analysis_calls_per_day: int = Field(
        DEFAULT_ANTHROPIC_ANALYSIS_CALLS_PER_DAY,
        ge=0,
        description="Deep-analysis Claude calls per user per UTC day; beyond: rule-based.",
    )
    assistant_timeout_seconds: float = Field(
        DEFAULT_ASSISTANT_TIMEOUT_SECONDS,
        gt=0,
        description="Timeout of one attempt of an assistant Claude call.",
    )
    assistant_max_retries: int = Field(
        DEFAULT_ASSISTANT_MAX_RETRIES,
        ge=0,
        le=MAX_ANTHROPIC_RETRIES,
        description="Retries of an assistant Claude call after a timeout, 429 or 5xx.",
    )
    assistant_max_tokens: int = Field(
        DEFAULT_ASSISTANT_MAX_TOKENS, gt=0, description="Most output tokens of an assistant reply."
    )
    assistant_requests_per_minute: int = Field(
        DEFAULT_ASSISTANT_REQUESTS_PER_MINUTE,
        gt=0,
        description="Assistant requests (chat, ask, translate, advice) per user per minute.",
    )
    assistant_claude_calls_per_day: int = Field(
        DEFAULT_ASSISTANT_CLAUDE_CALLS_PER_DAY,
        ge=0,
        description="Assistant answers from Claude per user per UTC day; beyond: rule-based.",
    )
    assistant_conversation_ttl_seconds: int = Field(
        DEFAULT_ASSISTANT_CONVERSATION_TTL_SECONDS,
        gt=0,
        description="How long an assistant conversation is kept after its last message.",
    )
    assistant_max_conversation_messages: int = Field(
        DEFAULT_ASSISTANT_MAX_CONVERSATION_MESSAGES,
        ge=2,
        description="Messages kept per assistant conversation; older ones are dropped.",
    )
    log_level: str = Field("INFO", description="Log level of every EROS process.")
    log_format: LogFormat = Field(LogFormat.JSON, description="json or text logs.")

    @model_validator(mode="after")
    def _check_consistency(self) -> Self:
        thresholds = self.phase_idle_seconds
        if any(t <= 0 for t in thresholds) or thresholds != sorted(set(thresholds)):
            raise ValueError("phase_idle_seconds must be positive and strictly increasing")
        if self.activity_retention_seconds <= thresholds[-1]:
            raise ValueError("activity_retention_seconds must exceed the phase 3 threshold")
        if self.db_pool_min_size > self.db_pool_max_size:
            raise ValueError("db_pool_min_size must not exceed db_pool_max_size")
        if self.scheduler_lease_seconds < 2 * self.scheduler_tick_seconds:
            raise ValueError(
                "scheduler_lease_seconds must be at least twice scheduler_tick_seconds"
            )
        if self.worker_abandoned_after_seconds <= self.worker_heartbeat_seconds:
            raise ValueError("worker_abandoned_after_seconds must exceed worker_heartbeat_seconds")
        lockout = (self.login_lockout_base_seconds, self.login_lockout_max_seconds)
        if not lockout[0] <= lockout[1] <= self.login_failure_memory_seconds:
            raise ValueError("login lockouts need base <= max <= login_failure_memory_seconds")
        if any(delay < 0 for delay in self.job_retry_backoff_seconds):
            raise ValueError("job_retry_backoff_seconds must not be negative")
        try:
            parse_windows(self.phase_off_peak)
            time_zone(self.off_peak_timezone)
        except OffPeakError as exc:
            raise ValueError(f"phase_off_peak / off_peak_timezone: {exc}") from exc
        if self.environment is not Environment.DEVELOPMENT:
            secret = self.jwt_secret.get_secret_value()
            if secret == DEV_JWT_SECRET or len(secret) < MIN_JWT_SECRET_LENGTH:
                raise ValueError(
                    "EROS_JWT_SECRET must be set to a random value of at least "
                    f"{MIN_JWT_SECRET_LENGTH} characters outside development"
                )
        return self


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once; tests build their own `Settings(...)` instead."""
    return Settings()
