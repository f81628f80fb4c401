"""The job function RQ runs: one phase of work for one user, given by ids only.

The scheduler enqueues `run_phase_job(user_id, phase, idle_since_ms)` by name; a work horse
of `eros worker --phase N` runs it. It refuses to start if the user came back since the
job was dequeued, runs the work registered for the phase, and on completion drops the
phase's checkpoint and the job's entry in the halting index.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from rq import get_current_job

from eros.core.phases import Phase
from eros.core.settings import Settings, get_settings
from eros.pipeline.queue import JobKey
from eros.worker.context import RunContext
from eros.worker.work import REGISTRY

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HorseRuntime:
    """What the work horse knows that the job function cannot get from RQ."""

    settings: Settings
    # (started-registry key, member) of this execution: how a job learns it was superseded.
    execution: tuple[str, str] | None
    parent_pid: int | None


class _Current:
    runtime: HorseRuntime | None = None


_current = _Current()


def set_runtime(runtime: HorseRuntime | None) -> None:
    """Called by the work horse before it runs a job."""
    _current.runtime = runtime


def run_phase_job(user_id: str, phase: int, idle_since_ms: int) -> dict[str, Any]:
    job = get_current_job()
    if job is None:
        raise RuntimeError("run_phase_job runs inside an RQ worker")
    runtime = _current.runtime or HorseRuntime(get_settings(), None, None)
    ctx = RunContext(
        key=JobKey(UUID(user_id), Phase(phase), idle_since_ms),
        connection=job.connection,
        settings=runtime.settings,
        execution=runtime.execution,
        parent_pid=runtime.parent_pid,
    )
    ctx.guard_start()
    work = REGISTRY.get(ctx.phase)
    if work is None:
        ctx.complete()
        return {
            "outcome": "no-work",
            "message": f"No work is registered for phase {phase}; nothing was done.",
        }
    result = work.run(ctx)
    ctx.complete()
    return {
        "outcome": "completed",
        "resumedFrom": ctx.resumed_from,
        "result": dict(result) if result else {},
    }
