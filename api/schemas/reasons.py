"""Why a candidate was suggested, on the wire: one model for recommendations and daily
matches alike, rendered from the domain's `Reason`."""

from __future__ import annotations

from pydantic import Field

from eros.api.schemas.base import ApiModel
from eros.core.matching import Reason


class MatchReason(ApiModel):
    code: str = Field(description="A score component or signal, e.g. `values_alignment`.")
    score: float = Field(description="The component in [0, 1].")
    contribution: float = Field(description="Log-odds it added to the caller's interest.")

    @classmethod
    def from_domain(cls, reason: Reason) -> MatchReason:
        return cls(code=reason.code, score=reason.score, contribution=reason.contribution)
