"""The `JobContext` a running job gets: its identity, checkpoints, and whether to stop.

A job runs in one event loop from its start to its end (`eros.worker.job`), and learns it
must stop in four ways, cheapest first:
- a signal from its worker (`eros.worker.stop`): a halt cancels the work at once, at
  whatever `await` it is in (a Claude request, a query), a drain stops it at its next
  safe point;
- its parent process gone (one `getppid` per safe point): it is requeued;
- a poll of Redis every `halt_poll_seconds`, at safe points and from a watcher task while
  the work waits between them (the halt flag, the user's activity, and whether its
  execution is still its own), which catches a halt whose pub/sub message was lost;
- the same poll before it starts (`guard_start`).
A job stopped by a halt saves the state of its latest safe point, as a drained one does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Mapping
from typing import Any
from uuid import UUID

import redis.asyncio as aredis
import redis.exceptions

from eros.core.clock import wall_ms
from eros.core.keys import ACTIVITY_KEY, checkpoint_key, halt_key
from eros.core.phases import Phase
from eros.core.settings import Settings
from eros.pipeline.checkpoint import (
    CHECKPOINT_SAVES_FIELD,
    decode_checkpoint,
    encode_checkpoint,
    job_hash_key,
)
from eros.pipeline.index import forget_job
from eros.pipeline.queue import JobKey
from eros.worker import stop
from eros.worker.work import JobHalted, JobInterrupted, JobSuperseded, PhaseWork, StopRequested

logger = logging.getLogger(__name__)

Result = Mapping[str, Any] | None
# The watcher is the fallback between safe points: polling faster would only load Redis.
WATCH_MIN_SECONDS = 0.01


class RunContext:
    """One execution of one job; implements `eros.worker.work.JobContext`."""

    def __init__(
        self,
        *,
        key: JobKey,
        redis: aredis.Redis,
        settings: Settings,
        execution: tuple[str, str] | None = None,
        parent_pid: int | None = None,
    ) -> None:
        """`execution` is (started-registry key, member) of this run, when run by a worker."""
        self._key = key
        self._redis = redis
        self._settings = settings
        self._execution = execution
        self._parent_pid = parent_pid
        self._cpu_at_save = time.process_time()
        self._next_poll = 0.0
        # The state of the latest safe point: what a job cancelled between two of them saves.
        self._latest: dict[str, Any] | None = None
        self._woken = asyncio.Event()
        self._task: asyncio.Task[Any] | None = None
        self._stopping: StopRequested | None = None
        self._watching = False
        self.resumed_from: str | None = None

    @property
    def user_id(self) -> UUID:
        return self._key.user_id

    @property
    def phase(self) -> Phase:
        return self._key.phase

    @property
    def job_id(self) -> str:
        return self._key.id

    @property
    def idle_since_ms(self) -> int:
        return self._key.idle_since_ms

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def redis(self) -> aredis.Redis:
        return self._redis

    @property
    def _checkpoint_key(self) -> str:
        return checkpoint_key(int(self.phase), self.user_id)

    async def load_checkpoint(self) -> dict[str, Any] | None:
        raw = await self._redis.get(self._checkpoint_key)
        if raw is None:
            return None
        checkpoint = decode_checkpoint(raw)
        if checkpoint is None:
            # A checkpoint we cannot read only costs a restart from scratch.
            logger.warning("Ignoring an unreadable checkpoint of phase %d.", int(self.phase))
            return None
        self.resumed_from = checkpoint.job_id
        logger.info(
            "Job %s resumes from a checkpoint saved by job %s.", self.job_id, checkpoint.job_id
        )
        return checkpoint.state

    async def save_checkpoint(self, state: Mapping[str, Any]) -> None:
        now_cpu = time.process_time()
        payload = encode_checkpoint(
            state, job_id=self.job_id, saved_at_ms=wall_ms(), cpu_seconds=now_cpu
        )
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(self._checkpoint_key, payload, ex=self._settings.checkpoint_ttl_seconds)
            if self._execution is not None:  # run by a worker, which counts the saves
                pipe.hincrby(job_hash_key(self.job_id), CHECKPOINT_SAVES_FIELD, 1)
            await pipe.execute()
        self._cpu_at_save = now_cpu

    async def checkpoint(self, state: Mapping[str, Any]) -> None:
        self._latest = dict(state)
        try:
            await self.check_halt()
        except JobSuperseded:
            raise  # the run that superseded this one owns the checkpoint now
        except (JobHalted, JobInterrupted):
            await self.save_checkpoint(state)
            raise
        if time.process_time() - self._cpu_at_save >= self._settings.checkpoint_cpu_seconds:
            await self.save_checkpoint(state)

    async def check_halt(self) -> None:
        if self._stopping is not None:
            # Found by the watcher or a signal, whose cancellation a library turned into
            # something else (or that is yet to land).
            if isinstance(self._stopping, JobHalted):
                self._stopping.detected_at_ms = wall_ms()
            raise self._stopping
        reason = stop.requested()
        if reason is stop.StopReason.HALT:
            # When the heartbeat arrived is read later, once the work has stopped.
            raise JobHalted(
                received_at_ms=None, detected_at_ms=wall_ms(), via="signal", requested=True
            )
        if reason is stop.StopReason.DRAIN:
            raise JobInterrupted("shutdown")
        if self._parent_pid is not None and os.getppid() != self._parent_pid:
            raise JobInterrupted("worker-lost")
        if time.monotonic() >= self._next_poll:
            await self._poll()

    async def wait(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while True:
            await self.check_halt()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            # A halt cancels this wait; a drain sets the event.
            waiter = asyncio.ensure_future(self._woken.wait())
            try:
                timeout = min(remaining, self._settings.halt_poll_seconds)
                await asyncio.wait({waiter}, timeout=timeout)
            finally:
                waiter.cancel()

    async def guard_start(self) -> None:
        """Refuse to start when the user came back between the dequeue and now."""
        await self._poll(via="start")

    async def run(self, work: PhaseWork) -> Result:
        """Run `work`: a halt, signalled or polled, cancels it at once, its latest safe
        point's state is saved, and `JobHalted` is raised."""
        task = asyncio.current_task()
        assert task is not None, "a job runs in a task"
        self._task = task
        with stop.on_signals(self._on_signal):
            # A signal that came before the loop's handlers were in place.
            self._on_signal(stop.requested())
            self._watching = True
            watcher = asyncio.create_task(self._watch(), name=f"eros-halt-watch-{self.job_id}")
            try:
                return await work.run(self)
            except BaseException as exc:
                stopping = self._stopping
                if stopping is None or isinstance(exc, StopRequested):
                    raise
                # Cancelled by a stop; redis-py may report the cancellation of a command in
                # flight as a connection error.
                if isinstance(exc, asyncio.CancelledError):
                    task.uncancel()
                await self._stopped(stopping)
                raise stopping from None
            finally:
                self._watching = False
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher

    async def complete(self) -> None:
        """The work finished: its checkpoint is spent, and a heartbeat has nothing to halt."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.delete(self._checkpoint_key)
            forget_job(pipe, self.user_id, self.job_id)
            await pipe.execute()

    def _on_signal(self, reason: stop.StopReason) -> None:
        if reason is stop.StopReason.NONE:
            return
        self._woken.set()
        if reason is stop.StopReason.HALT:
            # When the heartbeat arrived is read later, once the work has stopped.
            self._cancel(
                JobHalted(received_at_ms=None, detected_at_ms=0, via="signal", requested=True)
            )

    def _cancel(self, stopping: StopRequested) -> None:
        if self._stopping is not None or self._task is None:
            return
        self._stopping = stopping
        self._task.cancel()

    async def _stopped(self, stopping: StopRequested) -> None:
        """The work is cancelled: the in-flight I/O is abandoned, record where it stood."""
        if isinstance(stopping, JobHalted):
            stopping.detected_at_ms = wall_ms()
        if isinstance(stopping, JobSuperseded) or self._latest is None:
            return
        await self.save_checkpoint(self._latest)

    async def _watch(self) -> None:
        """Poll while the work waits between safe points (a safe point's poll counts too).

        It ends on `_watching`, not only on its cancellation: redis-py can turn a
        cancellation that lands mid-command into a connection error."""
        while self._is_watching():
            await asyncio.sleep(max(WATCH_MIN_SECONDS, self._next_poll - time.monotonic()))
            if time.monotonic() < self._next_poll:
                continue
            try:
                await self._poll()
            except (JobHalted, JobSuperseded) as found:
                self._cancel(found)
                return
            except redis.exceptions.RedisError as exc:
                if not self._is_watching():
                    return
                # The next safe point polls too, and fails the job if Redis stays away.
                logger.warning("Job %s could not poll for a halt: %s.", self.job_id, exc)

    def _is_watching(self) -> bool:
        return self._watching

    async def _poll(self, via: str = "poll") -> None:
        self._next_poll = time.monotonic() + self._settings.halt_poll_seconds
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(halt_key(self.job_id))
            pipe.zscore(ACTIVITY_KEY, self.user_id.bytes)
            if self._execution is not None:
                pipe.zscore(*self._execution)
            results = await pipe.execute()
        flag, score = results[0], results[1]
        if flag is not None:
            stop.request(stop.StopReason.HALT)
            raise JobHalted(
                received_at_ms=int(flag), detected_at_ms=wall_ms(), via=via, requested=True
            )
        if score is None or int(score) != self.idle_since_ms:
            # The user was active since (or was forgotten): the heartbeat's time is the score.
            stop.request(stop.StopReason.HALT)
            received = None if score is None else int(score)
            raise JobHalted(
                received_at_ms=received, detected_at_ms=wall_ms(), via=via, requested=False
            )
        if self._execution is not None and results[2] is None:
            raise JobSuperseded("another worker runs this job now")
