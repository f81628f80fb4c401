"""The seam between the pipeline and what each phase computes.

A phase's work implements `PhaseWork` and is registered for its phase by a module listed in
`EROS_WORKER_WORK_MODULES`, which the worker imports at start and whose
`register_work(registry)` it calls. Work is a coroutine run in the job's one event loop,
from its start to its end: it must never block that loop on I/O (use asyncio clients:
`ctx.redis`, `eros.core.database.connect`, `eros.core.llm`), since the loop is also where a
halt arrives. It receives a `JobContext`; it must call `await ctx.checkpoint(state)` at its
safe points (often: cheap, it writes only when a checkpoint is due), so that a crash undoes
at most `EROS_CHECKPOINT_CPU_SECONDS` of CPU, and it must write its results idempotently,
since a job can run again from its last checkpoint. A halt cancels the work at whatever
`await` it is in (a Claude request, a query) and saves the state of its latest safe point.

A phase with no registered work completes its jobs as no-ops that say so in their result.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Iterable, Mapping
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

import redis.asyncio as aredis

from eros.core.phases import Phase
from eros.core.settings import Settings

logger = logging.getLogger(__name__)

REGISTER_FUNCTION = "register_work"


class StopRequested(BaseException):
    """The job must stop now. A `BaseException`, like `KeyboardInterrupt`, so that a work's
    `except Exception` around its own calls cannot swallow a halt."""

    reason = "stop"


class JobHalted(StopRequested):
    """The user came back: the job ends halted, not failed, and is never retried."""

    reason = "halted"

    def __init__(
        self, *, received_at_ms: int | None, detected_at_ms: int, via: str, requested: bool
    ) -> None:
        """`requested`: a heartbeat's halter asked for it (rather than the job noticing that
        its user was active again); `received_at_ms`: when that activity arrived."""
        super().__init__(f"halted ({via})")
        self.received_at_ms = received_at_ms
        self.detected_at_ms = detected_at_ms
        self.via = via
        self.requested = requested


class JobInterrupted(StopRequested):
    """The worker is going away (SIGTERM, or its parent process died): requeue the job."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class JobSuperseded(StopRequested):
    """Another worker runs this job now (its worker was presumed dead): record nothing."""

    reason = "superseded"


class JobContext(Protocol):
    """What a phase's work sees of the pipeline."""

    @property
    def user_id(self) -> UUID: ...

    @property
    def phase(self) -> Phase: ...

    @property
    def job_id(self) -> str: ...

    @property
    def idle_since_ms(self) -> int:
        """The user's last activity (epoch ms): the idle period this job belongs to."""
        ...

    @property
    def settings(self) -> Settings: ...

    @property
    def redis(self) -> aredis.Redis:
        """The job's Redis client (`eros.core.redis_client.async_redis`: timeouts, retries)."""
        ...

    async def load_checkpoint(self) -> dict[str, Any] | None:
        """The state saved by an earlier, unfinished run of this phase for this user."""
        ...

    async def checkpoint(self, state: Mapping[str, Any]) -> None:
        """A safe point: remembers `state` (JSON-serializable) as where a stopped job saves
        itself, saves it when a checkpoint is due, and raises `StopRequested` (after saving)
        when the job must stop."""
        ...

    async def save_checkpoint(self, state: Mapping[str, Any]) -> None:
        """Save `state` now."""
        ...

    async def check_halt(self) -> None:
        """Raise `StopRequested` if the job must stop; saves nothing."""
        ...

    async def wait(self, seconds: float) -> None:
        """Sleep, but raise `StopRequested` as soon as the job must stop."""
        ...


class PhaseWork(Protocol):
    async def run(self, ctx: JobContext) -> Mapping[str, Any] | None:
        """Do the phase's work for `ctx.user_id`; the mapping returned is the job's result."""
        ...


@runtime_checkable
class WarmsWorkerProcess(Protocol):
    """Work that keeps something in the worker process for its jobs, such as phase 3's
    candidate pool. Work horses are forks of the worker: what a horse loads dies with it,
    while what the worker loaded before the fork every horse inherits (copy-on-write)."""

    def warm_worker_process(self, settings: Settings) -> None:
        """Runs in the worker process before each job's fork; cheap when nothing is stale."""
        ...


class WorkRegistry:
    """Phase -> work. The worker fills it from `EROS_WORKER_WORK_MODULES` at start."""

    def __init__(self) -> None:
        self._work: dict[Phase, PhaseWork] = {}

    def register(self, phase: Phase, work: PhaseWork, *, replace: bool = False) -> None:
        if phase is Phase.ACTIVE:
            raise ValueError("active users get no work; register phases 1 to 3")
        if phase in self._work and not replace:
            raise ValueError(f"phase {int(phase)} already has work registered")
        if not inspect.iscoroutinefunction(work.run):
            raise TypeError("a phase's work runs in the job's event loop: make run() async")
        self._work[phase] = work

    def get(self, phase: Phase) -> PhaseWork | None:
        return self._work.get(phase)

    def warmer(self, phase: Phase) -> WarmsWorkerProcess | None:
        """The phase's work, if it keeps something in the worker process for its jobs."""
        work: object = self._work.get(phase)
        return work if isinstance(work, WarmsWorkerProcess) else None

    def phases(self) -> list[Phase]:
        return sorted(self._work)

    def clear(self) -> None:
        self._work.clear()

    def load(self, modules: Iterable[str]) -> None:
        """Import each module and call its `register_work(registry)`."""
        for name in modules:
            module = importlib.import_module(name)
            register = getattr(module, REGISTER_FUNCTION, None)
            if not callable(register):
                raise ValueError(f"{name} has no {REGISTER_FUNCTION}(registry) function")
            register(self)
            logger.info("Loaded phase work from %s.", name)


REGISTRY = WorkRegistry()
