"""The seam between heartbeats and the job pipeline."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID


class Halter(Protocol):
    async def halt_user(self, user_id: UUID, received_at_ms: int) -> int:
        """Cancel the user's queued jobs and stop the running ones; returns how many."""
        ...
