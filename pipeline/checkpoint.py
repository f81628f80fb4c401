"""Checkpoints: a user's unfinished work in a phase, kept in Redis as JSON.

One checkpoint per (phase, user), not per job: a job halted because its user came back is
enqueued again, under a new id, when the user next goes idle, and resumes from here. The
checkpoint is deleted when a job of that phase completes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import redis
from redis.client import Pipeline

from eros.core.keys import checkpoint_key
from eros.core.phases import Phase

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    state: dict[str, Any]
    job_id: str
    saved_at_ms: int
    cpu_seconds: float


class CheckpointStore:
    def __init__(self, connection: redis.Redis, ttl_seconds: int) -> None:
        self._connection = connection
        self._ttl_seconds = ttl_seconds

    def load(self, phase: Phase, user_id: UUID) -> Checkpoint | None:
        raw = self._connection.get(checkpoint_key(int(phase), user_id))
        if raw is None:
            return None
        try:
            record = json.loads(raw)
            return Checkpoint(
                state=dict(record["state"]),
                job_id=str(record["job"]),
                saved_at_ms=int(record["at"]),
                cpu_seconds=float(record["cpu"]),
            )
        except (ValueError, KeyError, TypeError):
            # A checkpoint we cannot read only costs a restart from scratch.
            logger.warning("Ignoring an unreadable checkpoint of phase %d.", int(phase))
            return None

    def save(
        self,
        phase: Phase,
        user_id: UUID,
        state: Mapping[str, Any],
        *,
        job_id: str,
        saved_at_ms: int,
        cpu_seconds: float,
    ) -> None:
        record = {"state": state, "job": job_id, "at": saved_at_ms, "cpu": round(cpu_seconds, 3)}
        payload = json.dumps(record, separators=(",", ":"))
        self._connection.set(checkpoint_key(int(phase), user_id), payload, ex=self._ttl_seconds)

    def delete(self, phase: Phase, user_id: UUID, *, pipeline: Pipeline | None = None) -> None:
        (pipeline if pipeline is not None else self._connection).delete(
            checkpoint_key(int(phase), user_id)
        )
