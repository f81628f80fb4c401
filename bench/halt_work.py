"""The jobs of bench/halt.py: a little CPU, then a wait, forever, until stopped.

`register_work` plugs `Forever` into phase 1 of `eros worker`, through the same interface
as the phases' real work; `plain_forever` is the same loop as a bare RQ job, for the
baseline. Each writes its process id to `bench:pid:<job id>` when it starts.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

from rq import get_current_job

from eros.core.phases import Phase
from eros.worker.work import JobContext, WorkRegistry

BUSY_ENV = "EROS_BENCH_BUSY_US"
SLEEP_ENV = "EROS_BENCH_SLEEP_MS"
DEFAULT_BUSY_US = 100
DEFAULT_SLEEP_MS = 100


def pid_key(job_id: str) -> str:
    return f"bench:pid:{job_id}"


def _spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def _pace() -> tuple[float, float]:
    busy = int(os.environ.get(BUSY_ENV, DEFAULT_BUSY_US)) / 1e6
    sleep = int(os.environ.get(SLEEP_ENV, DEFAULT_SLEEP_MS)) / 1e3
    return busy, sleep


class Forever:
    async def run(self, ctx: JobContext) -> Mapping[str, Any]:
        busy, sleep = _pace()
        await ctx.redis.set(pid_key(ctx.job_id), os.getpid())
        state = await ctx.load_checkpoint() or {"steps": 0}
        while True:
            _spin(busy)
            state = {"steps": state["steps"] + 1}
            await ctx.checkpoint(state)
            await ctx.wait(sleep)


def register_work(registry: WorkRegistry) -> None:
    registry.register(Phase.LIGHT, Forever())


def plain_forever() -> None:
    busy, sleep = _pace()
    job = get_current_job()
    assert job is not None
    job.connection.set(pid_key(job.id), os.getpid())
    while True:
        _spin(busy)
        time.sleep(sleep)
