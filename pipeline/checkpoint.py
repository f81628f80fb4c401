"""Checkpoints: a user's unfinished work in a phase, kept in Redis as JSON.

One checkpoint per (phase, user), not per job: a job halted because its user came back is
enqueued again, under a new id, when the user next goes idle, and resumes from here. The
checkpoint is deleted when a job of that phase completes. The key is
`eros.core.keys.checkpoint_key`; the job's context (`eros.worker.context`) reads and writes it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Checkpoint", "decode_checkpoint", "encode_checkpoint"]


@dataclass(frozen=True, slots=True)
class Checkpoint:
    state: dict[str, Any]
    job_id: str
    saved_at_ms: int
    cpu_seconds: float


def encode_checkpoint(
    state: Mapping[str, Any], *, job_id: str, saved_at_ms: int, cpu_seconds: float
) -> str:
    record = {"state": state, "job": job_id, "at": saved_at_ms, "cpu": round(cpu_seconds, 3)}
    return json.dumps(record, separators=(",", ":"))


def decode_checkpoint(raw: bytes | str) -> Checkpoint | None:
    """None for a record we cannot read: that only costs a restart from scratch."""
    try:
        record = json.loads(raw)
        return Checkpoint(
            state=dict(record["state"]),
            job_id=str(record["job"]),
            saved_at_ms=int(record["at"]),
            cpu_seconds=float(record["cpu"]),
        )
    except (ValueError, KeyError, TypeError):
        return None
