from __future__ import annotations

from typing import Literal

from eros.api.schemas.base import ApiModel


class Liveness(ApiModel):
    status: Literal["ok"] = "ok"


class DependencyCheck(ApiModel):
    ok: bool
    latency_ms: float | None = None
    error: str | None = None


class Readiness(ApiModel):
    status: Literal["ok", "unavailable"]
    redis: DependencyCheck
    database: DependencyCheck


class PoolStats(ApiModel):
    size: int
    available: int
    waiting: int
    max_size: int


class DetailedHealth(Readiness):
    version: str
    python_version: str
    redis_version: str | None
    postgres_version: str | None
    environment: str
    pool: PoolStats
    users_per_phase: list[int]
