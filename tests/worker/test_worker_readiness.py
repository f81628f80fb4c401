"""A worker's readiness (`/readyz`) and liveness (`/healthz`), as the probes the operator
puts on its pods see them: ready while it works, unready but alive while it drains."""

from __future__ import annotations

import logging
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Callable

import pytest
import redis
from rq.job import Job, JobStatus

from eros.core.phases import Phase
from eros.pipeline.queue import JobKey
from eros.pipeline.server import HEALTH_PATH, READY_PATH
from tests.conftest import free_port
from tests.pipeline.fixtures import wait_until
from tests.worker import cpu_work
from tests.worker.conftest import WorkerProcess

logger = logging.getLogger(__name__)

# Steps of one to two seconds each (3M SHA-256 rounds): the worker drains for up to a
# step after SIGTERM, and the probes must see it draining before it exits, on a fast
# machine too. (The test does not wait for the process to exit.)
SLOW_STEPS = {cpu_work.STEPS_ENV: "1000", cpu_work.SPINS_ENV: "3000000"}


def _status(port: int, path: str) -> int | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return None


def test_a_draining_worker_is_alive_but_not_ready(
    start_worker: Callable[..., WorkerProcess],
    enqueue: Callable[..., JobKey],
    redis_client: redis.Redis,
) -> None:
    port = free_port()
    key = enqueue(Phase.MEDIUM)
    worker = start_worker(phase=2, metrics_port=port, env=SLOW_STEPS)
    wait_until(lambda: redis_client.get(cpu_work.pid_key(key.id)), what="the job to start")
    assert _status(port, READY_PATH) == 200
    assert _status(port, HEALTH_PATH) == 200

    asked = time.monotonic()
    worker.send(signal.SIGTERM)
    seen: list[int | None] = []

    def unready_seen() -> bool:
        seen.append(_status(port, READY_PATH))
        return seen[-1] == 503

    try:
        wait_until(unready_seen, what="the worker to turn unready")
    except pytest.fail.Exception:
        answers = sorted({str(status) for status in seen})
        pytest.fail(
            f"readiness never turned 503 after SIGTERM; it answered {answers} "
            f"(the worker exited with {worker.process.poll()}). Its log:\n{worker.output()}"
        )
    unready = time.monotonic() - asked
    assert _status(port, HEALTH_PATH) == 200, "draining is no reason to restart"

    job = Job.fetch(key.id, connection=redis_client)
    wait_until(lambda: job.get_status(refresh=True) is JobStatus.QUEUED, what="the drain")
    assert job.get_meta(refresh=True)["lastRequeue"] == "shutdown"
    logger.info(
        "Worker unready %.3f s after SIGTERM; its job back in its queue after %.3f s.",
        unready,
        time.monotonic() - asked,
    )


def test_an_idle_worker_is_ready_and_alive(
    start_worker: Callable[..., WorkerProcess],
) -> None:
    port = free_port()
    start_worker(phase=1, metrics_port=port)
    wait_until(lambda: _status(port, READY_PATH) == 200, what="the idle worker's readiness")
    assert _status(port, HEALTH_PATH) == 200
