from __future__ import annotations

from pydantic import Field, StrictBool

from eros.api.schemas.base import ApiModel, SuccessResponse


class HeartbeatRequest(ApiModel):
    # Strict: "true", 1 or "yes" is a client bug to report, not a boolean to guess.
    app_active: StrictBool = Field(description="The app is in the foreground.")
    screen_on: StrictBool = Field(description="The device screen is on.")


class HeartbeatResponse(SuccessResponse):
    idle_time: int = Field(description="Milliseconds since the user's previous activity.")
    processing_phase: int = Field(
        ge=0, le=3, description="The phase the user was in just before this heartbeat."
    )
    halted_jobs: int = Field(ge=0, description="Jobs of this user halted by this heartbeat.")
    timestamp: int = Field(description="Server time of this heartbeat, epoch milliseconds.")


class ActivityStatus(ApiModel):
    last_active: int | None = Field(description="Last activity, epoch ms; null if never seen.")
    idle_time: int
    processing_phase: int
    timestamp: int


class PhaseStats(ApiModel):
    active: int
    phase1: int
    phase2: int
    phase3: int
    total: int
    thresholds_seconds: list[int]
    timestamp: int
