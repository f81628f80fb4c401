"""The maintenance jobs RQ runs on phase workers (`eros.pipeline.maintenance` enqueues them).

The retention job deletes what is past its horizon (`eros.core.retention`) in batches.
It belongs to no user, so no heartbeat halts it; a worker shutting down asks it to stop,
which it does between two batches, to be requeued and carry on from where the data now
is (each batch commits by itself, so nothing is lost or done twice).
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from rq import get_current_job

from eros.core.clock import utc_from_ms, wall_ms
from eros.core.database import connect
from eros.core.retention import cutoffs, prune
from eros.core.settings import Settings
from eros.worker import stop
from eros.worker.job import current_runtime, run_in_loop
from eros.worker.work import JobInterrupted

logger = logging.getLogger(__name__)

__all__ = ["run_retention", "run_retention_job"]


def _stop_if_asked() -> None:
    if stop.requested() is not stop.StopReason.NONE:
        raise JobInterrupted("shutdown")


async def run_retention(settings: Settings, now_ms: int) -> dict[str, Any]:
    async with await connect(settings) as conn:
        report = await prune(
            conn,
            cutoffs(settings, utc_from_ms(now_ms)),
            settings.retention_batch_rows,
            _stop_if_asked,
        )
    return {"outcome": "completed", "deleted": asdict(report)}


def run_retention_job() -> dict[str, Any]:
    if get_current_job() is None:
        raise RuntimeError("run_retention_job runs inside an RQ worker")
    return run_in_loop(run_retention(current_runtime().settings, wall_ms()))
