"""Checkpoints: a user's unfinished work in a phase, kept in Redis as JSON.

One checkpoint per (phase, user), not per job: a job halted because its user came back is
enqueued again, under a new id, when the user next goes idle, and resumes from here. The
checkpoint is deleted when a job of that phase completes. The key is
`eros.core.keys.checkpoint_key`; the job's context (`eros.worker.context`) reads and writes it.

Saves are counted for `eros_checkpoints_saved_total`, but a job runs in a work horse, a
fork whose own counters die with it: each save adds one to a field of the job's RQ hash,
which the worker takes (reads and clears) once the horse has exited.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import redis

from eros.pipeline.rq_internals import JOB_KEY_PREFIX

__all__ = [
    "CHECKPOINT_SAVES_FIELD",
    "Checkpoint",
    "decode_checkpoint",
    "encode_checkpoint",
    "job_hash_key",
    "take_checkpoint_saves",
]

CHECKPOINT_SAVES_FIELD = "eros_checkpoint_saves"


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


def job_hash_key(job_id: str) -> str:
    """The RQ hash of a job, where its checkpoint saves are tallied."""
    return f"{JOB_KEY_PREFIX}{job_id}"


def take_checkpoint_saves(connection: redis.Redis, job_id: str) -> int:
    """The saves tallied for a job since the last take, cleared in the same transaction,
    so that a job run again (retried, requeued) is not counted twice."""
    with connection.pipeline() as pipe:
        pipe.hget(job_hash_key(job_id), CHECKPOINT_SAVES_FIELD)
        pipe.hdel(job_hash_key(job_id), CHECKPOINT_SAVES_FIELD)
        raw, _ = pipe.execute()
    return int(raw or 0)
