"""The job pipeline's status, for administrators."""

from __future__ import annotations

from pydantic import Field

from eros.api.schemas.base import ApiModel
from eros.pipeline.status import SchedulerView


class SchedulerStatus(ApiModel):
    leader: str | None = Field(description="Name of the scheduler holding the lease; null: none.")
    lease_expires_in_ms: int | None = Field(
        description="Time left on the leader's lease; a standby takes over when it runs out."
    )
    last_tick_at: int | None = Field(description="The leader's last tick, epoch ms.")
    last_tick_seconds: float | None = Field(description="How long that tick took.")

    @classmethod
    def from_view(cls, view: SchedulerView) -> SchedulerStatus:
        return cls(
            leader=view.leader,
            lease_expires_in_ms=view.lease_expires_in_ms,
            last_tick_at=view.last_tick_at_ms,
            last_tick_seconds=view.last_tick_seconds,
        )


class PhaseStatus(ApiModel):
    phase: int = Field(ge=1, le=3)
    queue: str
    queued: int = Field(ge=0, description="Jobs waiting in the queue.")
    running: int = Field(ge=0, description="Jobs running on live workers.")
    workers: int = Field(ge=0, description="Live workers serving the queue.")
    watermark: int | None = Field(
        description="Threshold crossings up to this time (epoch ms) have been scheduled."
    )
    lag_ms: int | None = Field(description="How far the watermark is behind now.")
    off_peak: str | None = Field(description="Hours the phase may run (HH:MM-HH:MM); null: any.")
    in_window: bool = Field(description="Whether the phase may run now.")


class HaltEntry(ApiModel):
    job_id: str
    user_id: str | None
    phase: int | None
    state: str = Field(description="What the job was doing: queued, starting or running.")
    received_at: int = Field(description="When the heartbeat that halted it arrived, epoch ms.")


class PhaseConfigStatus(ApiModel):
    source: str = Field(
        description='The ErosProcessing it was derived from ("namespace/name"), or "settings" '
        "while no operator has published one."
    )
    generation: int | None = Field(
        description="The resource's metadata.generation it was derived from; null: settings."
    )
    idle_seconds: list[int] = Field(description="Idle seconds at which phases 1, 2, 3 begin.")
    queues: list[str]
    off_peak: list[str | None] = Field(description="Each phase's window (HH:MM-HH:MM); null: any.")
    time_zone: str
    cpu_budget_percent: list[float]
    priority: list[int] = Field(description="Phase numbers, most important first.")
    paused: bool


class FollowerStatus(ApiModel):
    component: str = Field(description='"api/...", "scheduler/..." or "worker/...".')
    source: str
    generation: int | None = Field(description="The generation it follows; null: settings.")
    seen_at: int = Field(description="When it last read the configuration, epoch ms.")


class PopulationModelStatus(ApiModel):
    version: int = Field(gt=0, description="The current version; each fit adds one.")
    examples: int = Field(ge=0, description="Likes and skips it was fitted on.")
    users: int = Field(ge=0, description="People who made those decisions.")
    fitted_at: int = Field(description="When it was fitted, epoch ms.")
    fit_seconds: float = Field(ge=0, description="How long reading and fitting took.")
    in_use: bool = Field(
        description="Whether ranking uses it; false: fitted on other features than this "
        "release's, so ranking uses the hand-set prior until the next fit."
    )


class ErosStatus(ApiModel):
    scheduler: SchedulerStatus
    phases: list[PhaseStatus]
    recent_halts: list[HaltEntry] = Field(description="The latest halts, newest first.")
    config: PhaseConfigStatus = Field(description="The phase configuration this API follows.")
    followers: list[FollowerStatus] = Field(
        description="Every component heard of in the last minute, and what it follows."
    )
    model: PopulationModelStatus | None = Field(
        description="The population model every ranking scores with; null before the first fit."
    )
    timestamp: int
