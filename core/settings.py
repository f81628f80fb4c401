"""The one settings class of EROS, read from `EROS_*` environment variables."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "eros-development-secret-change-me"
DEFAULT_PHASE_IDLE_SECONDS = [600, 1800, 3600]
DEFAULT_PHASE_QUEUES = ["eros-phase-1", "eros-phase-2", "eros-phase-3"]
DEFAULT_PHASE_CPU_BUDGET_PERCENT = [5.0, 15.0, 100.0]
DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 15 * 60
DEFAULT_REFRESH_TOKEN_TTL_SECONDS = 30 * 24 * 3600
DEFAULT_ACTIVITY_RETENTION_SECONDS = 30 * 24 * 3600
DEFAULT_MAX_BODY_BYTES = 64 * 1024
# Cache lifetimes from the source documents: profile 12 h (public 5 min), recommendations 24 h.
DEFAULT_PROFILE_CACHE_TTL_SECONDS = 12 * 3600
DEFAULT_PUBLIC_PROFILE_CACHE_TTL_SECONDS = 5 * 60
DEFAULT_RECOMMENDATIONS_CACHE_TTL_SECONDS = 24 * 3600
DEFAULT_IDEMPOTENCY_KEY_TTL_SECONDS = 24 * 3600
DEFAULT_RATE_LIMIT_WRITES_PER_MINUTE = 60
DEFAULT_RATE_LIMIT_REPORTS_PER_HOUR = 20
MIN_JWT_SECRET_LENGTH = 32


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
        default_factory=lambda: list(DEFAULT_PHASE_IDLE_SECONDS),
        description="Idle seconds after which a user enters phases 1, 2 and 3 (JSON list).",
    )
    phase_queues: Annotated[list[str], Field(min_length=3, max_length=3)] = Field(
        default_factory=lambda: list(DEFAULT_PHASE_QUEUES),
        description="RQ queue of each phase (JSON list).",
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
    db_pool_min_size: int = Field(1, ge=0, description="Minimum PostgreSQL pool connections.")
    db_pool_max_size: int = Field(10, ge=1, description="Maximum PostgreSQL pool connections.")
    anthropic_api_key: SecretStr | None = Field(
        None, description="Anthropic API key; unset: the rule-based fallback is used."
    )
    anthropic_model: str = Field(
        "claude-sonnet-4-5", description="Claude model used for deep analysis and the assistant."
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
        if self.environment is not Environment.DEVELOPMENT:
            secret = self.jwt_secret.get_secret_value()
            if secret == DEV_JWT_SECRET or len(secret) < MIN_JWT_SECRET_LENGTH:
                raise ValueError(
                    "EROS_JWT_SECRET must be set to a random value of at least "
                    f"{MIN_JWT_SECRET_LENGTH} characters outside development"
                )
        return self

    @property
    def is_development(self) -> bool:
        return self.environment is Environment.DEVELOPMENT


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once; tests build their own `Settings(...)` instead."""
    return Settings()
