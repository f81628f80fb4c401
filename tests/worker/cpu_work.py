"""Real CPU-bound phase work for the pipeline's tests, registered the way the phases' own
work is: `EROS_WORKER_WORK_MODULES=["tests.worker.cpu_work"]`.

Each job computes a SHA-256 chain seeded by its user, one step at a time, writing the
step it reached to Redis and then calling `ctx.checkpoint`; the result only depends on the
user and the number of steps, however often the job was halted, drained or killed on the
way. It leaves traces in Redis for the tests: the step each run started from, its pid,
and its latest step.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from eros.core.phases import Phase
from eros.core.settings import Settings
from eros.worker.work import JobContext, WorkRegistry

STEPS_ENV = "EROS_TEST_WORK_STEPS"
SPINS_ENV = "EROS_TEST_WORK_SPINS"
FAILURES_ENV = "EROS_TEST_WORK_FAILURES"
DEFAULT_STEPS = 50
DEFAULT_SPINS = 2000


def starts_key(job_id: str) -> str:
    return f"test:starts:{job_id}"


def pid_key(job_id: str) -> str:
    return f"test:pid:{job_id}"


def progress_key(job_id: str) -> str:
    return f"test:progress:{job_id}"


def attempts_key(job_id: str) -> str:
    return f"test:attempts:{job_id}"


def warmed_key(job_id: str) -> str:
    return f"test:warmed:{job_id}"


# Set by `warm_worker_process` in the worker process; a horse sees it only by inheritance.
warmed_by_pid: int | None = None


def seed(user_id: UUID) -> str:
    return hashlib.sha256(user_id.bytes).hexdigest()


def advance(digest: str, spins: int) -> str:
    value = bytes.fromhex(digest)
    for _ in range(spins):
        value = hashlib.sha256(value).digest()
    return value.hex()


def expected_digest(user_id: UUID, steps: int, spins: int) -> str:
    digest = seed(user_id)
    for _ in range(steps):
        digest = advance(digest, spins)
    return digest


class HashChain:
    def __init__(self, steps: int, spins: int, failures: int) -> None:
        self.steps = steps
        self.spins = spins
        self.failures = failures

    def warm_worker_process(self, settings: Settings) -> None:
        global warmed_by_pid
        warmed_by_pid = os.getpid()

    async def run(self, ctx: JobContext) -> Mapping[str, Any]:
        client = ctx.redis
        state = await ctx.load_checkpoint() or {"step": 0, "digest": seed(ctx.user_id)}
        await client.rpush(starts_key(ctx.job_id), state["step"])
        await client.set(pid_key(ctx.job_id), os.getpid())
        await client.set(warmed_key(ctx.job_id), warmed_by_pid or 0)
        if int(await client.incr(attempts_key(ctx.job_id))) <= self.failures:
            raise RuntimeError("a planned failure, to be retried")
        while state["step"] < self.steps:
            state = {"step": state["step"] + 1, "digest": advance(state["digest"], self.spins)}
            await client.set(progress_key(ctx.job_id), state["step"])
            await ctx.checkpoint(state)
        return {"digest": state["digest"], "steps": self.steps}


def register_work(registry: WorkRegistry) -> None:
    work = HashChain(
        steps=int(os.environ.get(STEPS_ENV, DEFAULT_STEPS)),
        spins=int(os.environ.get(SPINS_ENV, DEFAULT_SPINS)),
        failures=int(os.environ.get(FAILURES_ENV, 0)),
    )
    for phase in (Phase.LIGHT, Phase.MEDIUM, Phase.DEEP):
        registry.register(phase, work)
