from __future__ import annotations

from uuid import UUID

from pydantic import Field, StrictBool, computed_field

from eros.api.schemas.base import ApiModel, SuccessResponse


class HeartbeatRequest(ApiModel):
    # Strict: "true", 1 or "yes" is a client bug to report, not a boolean to guess.
    app_active: StrictBool = Field(description="The app is in the foreground.")
    screen_on: StrictBool = Field(description="The device screen is on.")
    # The source documents' clients send their own id; the token decides whose beat it is.
    user_id: UUID | None = Field(
        None, description="Optional; when given, it must be the caller's own id (else 403)."
    )


class HeartbeatResponse(SuccessResponse):
    idle_time: int = Field(description="Milliseconds since the user's previous activity.")
    processing_phase: int = Field(
        ge=0, le=3, description="The phase the user was in just before this heartbeat."
    )
    halted_jobs: int = Field(ge=0, description="Jobs of this user halted by this heartbeat.")
    processing_halted: bool = Field(
        description="Whether this heartbeat halted any job: `haltedJobs > 0`."
    )
    timestamp: int = Field(description="Server time of this heartbeat, epoch milliseconds.")


class ActivityStatus(ApiModel):
    user_id: UUID
    last_active: int | None = Field(description="Last activity, epoch ms; null if never seen.")
    last_interaction: int | None = Field(
        description="The source documents' name for `lastActive`: the same value."
    )
    idle_time: int
    processing_phase: int
    session_duration: int = Field(
        ge=0,
        description="Milliseconds since the current session began (0 once the user has "
        "been idle as long as phase 1 needs: the session is over).",
    )
    timestamp: int


class PhaseCounts(ApiModel):
    active: int = Field(ge=0, description="Users seen more recently than phase 1's threshold.")
    phase1: int = Field(ge=0)
    phase2: int = Field(ge=0)
    phase3: int = Field(ge=0)
    total: int = Field(ge=0, description="Every user with a recorded activity.")


class PhaseStats(PhaseCounts, SuccessResponse):
    thresholds_seconds: list[int]
    timestamp: int

    # The source documents nest the counts under `stats`; computed so each has one owner.
    @computed_field(description="The same counts as `active` ... `total`, nested.")
    def stats(self) -> PhaseCounts:
        return PhaseCounts(**{name: getattr(self, name) for name in PhaseCounts.model_fields})
