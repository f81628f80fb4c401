from __future__ import annotations

from typing import Literal

from pydantic import Field, computed_field

from eros.api.schemas.base import ApiModel
from eros.api.schemas.eros import SchedulerStatus


class Liveness(ApiModel):
    status: Literal["ok"] = "ok"


class DependencyCheck(ApiModel):
    ok: bool
    latency_ms: float | None = None
    error: str | None = None


class ProcessMetrics(ApiModel):
    cpu_seconds: float = Field(description="CPU time this API process has used.")
    max_rss_bytes: int = Field(description="Peak resident memory of this API process.")


class Readiness(ApiModel):
    status: Literal["ok", "unavailable"]
    uptime: float = Field(description="Seconds since this API process started.")
    redis: DependencyCheck
    database: DependencyCheck
    metrics: ProcessMetrics

    # The source documents' grouping of the checks above, computed so each has one owner.
    @computed_field(description="The same checks as `redis` and `database`, by name.")
    def components(self) -> dict[str, DependencyCheck]:
        return {"redis": self.redis, "database": self.database}


class CacheInfo(ApiModel):
    """Redis (Valkey), which holds activity, caches and queues."""

    ok: bool
    version: str | None


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
    cache: CacheInfo
    scheduler: SchedulerStatus | None = Field(description="null while Redis is unreachable.")
