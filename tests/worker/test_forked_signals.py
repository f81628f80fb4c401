"""The processes a worker forks besides its horses: RQ's scheduler process, which the
worker stops with SIGTERM as it exits and then waits for. A fork that gets the SIGTERM
while it still has the worker's handler, or loses it, must not keep the worker waiting."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterator
from multiprocessing.context import ForkProcess
from multiprocessing.synchronize import Event as EventType

import pytest
import redis
from rq.scheduler import RQScheduler
from rq.worker import WorkerStatus

from eros.core.phases import Phase
from eros.core.settings import Settings
from eros.worker import runner
from eros.worker.runner import PhaseWorker

CHILD_SLEEP_SECONDS = 60
END_TIMEOUT_SECONDS = 10.0
POLL_SECONDS = 0.02
FORK = multiprocessing.get_context("fork")


@pytest.fixture
def busy_worker(redis_client: redis.Redis, pipeline_settings: Settings) -> Iterator[PhaseWorker]:
    """A worker in this process, with its signal handlers, busy with a job (as when its
    SIGTERM arrives mid-job); the test process's own handlers come back afterwards."""
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    worker = PhaseWorker(redis_client, pipeline_settings, Phase.LIGHT)
    worker._install_signal_handlers()
    worker.set_state(WorkerStatus.BUSY)
    try:
        yield worker
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


def _status_within(pid: int, timeout: float) -> int | None:
    """The child's wait status once it ended within `timeout`, else None (it still runs)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return status
        time.sleep(POLL_SECONDS)
    return None


def test_a_fork_that_still_has_the_workers_handler_ends_on_sigterm(
    busy_worker: PhaseWorker,
) -> None:
    started, ready = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child only sleeps until a signal ends it
        try:
            # Python drops a signal that arrives before its fork bookkeeping is done.
            os.write(ready, b"1")
            time.sleep(CHILD_SLEEP_SECONDS)
        finally:
            os._exit(0)
    os.close(ready)
    status = None
    try:
        assert os.read(started, 1) == b"1"
        os.kill(child, signal.SIGTERM)
        status = _status_within(child, END_TIMEOUT_SECONDS)
    finally:
        os.close(started)
        if status is None:
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
    assert status is not None, "the forked child lived on after SIGTERM"
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM
    assert not busy_worker.draining, "the worker itself was not asked to stop"


def _deaf_to_sigterm(started: EventType) -> None:  # pragma: no cover - in the stand-in
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    started.set()
    time.sleep(CHILD_SLEEP_SECONDS)


def _sleeps(started: EventType) -> None:  # pragma: no cover - in the stand-in
    started.set()
    time.sleep(CHILD_SLEEP_SECONDS)


def _scheduler_running(worker: PhaseWorker, target: Callable[[EventType], None]) -> ForkProcess:
    """RQ's scheduler with a stand-in process, started and past its fork bookkeeping."""
    scheduler = RQScheduler(worker.queues, connection=worker.connection)
    started = FORK.Event()
    process = FORK.Process(target=target, args=(started,))
    process.start()
    assert started.wait(END_TIMEOUT_SECONDS)
    scheduler._process = process  # type: ignore[assignment]  # RQ leaves it untyped
    worker.scheduler = scheduler
    return process


def test_a_scheduler_process_that_does_not_stop_on_sigterm_is_killed(
    busy_worker: PhaseWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "SCHEDULER_STOP_SECONDS", 0.5)
    process = _scheduler_running(busy_worker, _deaf_to_sigterm)
    busy_worker.stop_scheduler()
    assert process.exitcode == -signal.SIGKILL


def test_a_scheduler_process_that_stops_on_sigterm_is_not_killed(
    busy_worker: PhaseWorker,
) -> None:
    process = _scheduler_running(busy_worker, _sleeps)
    busy_worker.stop_scheduler()
    assert process.exitcode == -signal.SIGTERM


def test_a_burst_worker_does_not_start_a_scheduler_process_on_its_heartbeat(
    redis_client: redis.Redis, pipeline_settings: Settings
) -> None:
    # RQ's burst mode enqueues scheduled jobs once, in the worker, and starts no process.
    worker = PhaseWorker(redis_client, pipeline_settings, Phase.LIGHT, burst=True)
    worker.scheduler = RQScheduler(worker.queues, connection=worker.connection)
    worker.heartbeat()
    assert worker.scheduler._process is None


def test_a_long_running_worker_starts_its_scheduler_process_again_on_its_heartbeat(
    redis_client: redis.Redis, pipeline_settings: Settings
) -> None:
    worker = PhaseWorker(redis_client, pipeline_settings, Phase.LIGHT)
    worker.scheduler = RQScheduler(worker.queues, connection=worker.connection)
    worker.heartbeat()
    process = worker.scheduler._process
    try:
        assert process is not None and process.is_alive()
    finally:
        worker.stop_scheduler()
    assert process.exitcode is not None
