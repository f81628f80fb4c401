"""The `JobContext` a running job gets: its identity, checkpoints, and whether to stop.

A job learns it must stop in three ways, cheapest first: a signal from its worker (set by
`eros.worker.stop`, free to check), its parent process gone (one `getppid`), and a poll
of Redis every `halt_poll_seconds` (the halt flag, the user's activity, and whether its
execution is still its own), which catches a halt whose pub/sub message was lost.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from typing import Any
from uuid import UUID

import redis

from eros.core.clock import wall_ms
from eros.core.keys import ACTIVITY_KEY, halt_key
from eros.core.phases import Phase
from eros.core.settings import Settings
from eros.pipeline.checkpoint import CheckpointStore
from eros.pipeline.index import forget_job
from eros.pipeline.queue import JobKey
from eros.worker import stop
from eros.worker.work import JobHalted, JobInterrupted, JobSuperseded

logger = logging.getLogger(__name__)


class RunContext:
    """One execution of one job; implements `eros.worker.work.JobContext`."""

    def __init__(
        self,
        *,
        key: JobKey,
        connection: redis.Redis,
        settings: Settings,
        execution: tuple[str, str] | None = None,
        parent_pid: int | None = None,
    ) -> None:
        """`execution` is (started-registry key, member) of this run, when run by a worker."""
        self._key = key
        self._connection = connection
        self._settings = settings
        self._execution = execution
        self._parent_pid = parent_pid
        self._checkpoints = CheckpointStore(connection, settings.checkpoint_ttl_seconds)
        self._cpu_at_save = time.process_time()
        self._next_poll = 0.0
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
    def redis(self) -> redis.Redis:
        return self._connection

    def load_checkpoint(self) -> dict[str, Any] | None:
        checkpoint = self._checkpoints.load(self.phase, self.user_id)
        if checkpoint is None:
            return None
        self.resumed_from = checkpoint.job_id
        logger.info(
            "Job %s resumes from a checkpoint saved by job %s.", self.job_id, checkpoint.job_id
        )
        return checkpoint.state

    def save_checkpoint(self, state: Mapping[str, Any]) -> None:
        now_cpu = time.process_time()
        self._checkpoints.save(
            self.phase,
            self.user_id,
            state,
            job_id=self.job_id,
            saved_at_ms=wall_ms(),
            cpu_seconds=now_cpu,
        )
        self._cpu_at_save = now_cpu

    def checkpoint(self, state: Mapping[str, Any]) -> None:
        try:
            self.check_halt()
        except JobSuperseded:
            raise  # the run that superseded this one owns the checkpoint now
        except (JobHalted, JobInterrupted):
            self.save_checkpoint(state)
            raise
        if time.process_time() - self._cpu_at_save >= self._settings.checkpoint_cpu_seconds:
            self.save_checkpoint(state)

    def check_halt(self) -> None:
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
            self._poll()

    def wait(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while True:
            self.check_halt()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            stop.wait(min(remaining, self._settings.halt_poll_seconds))

    def guard_start(self) -> None:
        """Refuse to start when the user came back between the dequeue and now."""
        self._poll(via="start")

    def complete(self) -> None:
        """The work finished: its checkpoint is spent, and a heartbeat has nothing to halt."""
        with self._connection.pipeline(transaction=False) as pipe:
            self._checkpoints.delete(self.phase, self.user_id, pipeline=pipe)
            forget_job(pipe, self.user_id, self.job_id)
            pipe.execute()

    def _poll(self, via: str = "poll") -> None:
        self._next_poll = time.monotonic() + self._settings.halt_poll_seconds
        with self._connection.pipeline(transaction=False) as pipe:
            pipe.get(halt_key(self.job_id))
            pipe.zscore(ACTIVITY_KEY, self.user_id.bytes)
            if self._execution is not None:
                pipe.zscore(*self._execution)
            results = pipe.execute()
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
