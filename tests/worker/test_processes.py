"""`eros scheduler` and `eros worker` as the processes Kubernetes runs: they schedule and
work, serve /metrics and /healthz, and stop cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from uuid import uuid4

import redis
from rq.job import Job, JobStatus

from eros.core.keys import ACTIVITY_KEY, SCHEDULER_LEASE_KEY
from eros.core.phase_config import from_settings
from eros.core.phases import Phase
from eros.core.settings import Settings
from eros.pipeline.queue import JobKey, phase_queue
from tests.conftest import free_port
from tests.pipeline.fixtures import FAST_PIPELINE, wait_until
from tests.worker.conftest import WorkerProcess, settings_env


def _get(port: int, path: str) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
            return str(response.read().decode())
    except OSError:
        return None


def test_the_scheduler_process_schedules_serves_probes_and_hands_over_on_sigterm(
    tmp_path: Path, repo_root: Path, pipeline_settings: Settings, redis_client: redis.Redis
) -> None:
    port = free_port()
    log = tmp_path / "scheduler.log"
    env = {
        **os.environ,
        **settings_env(pipeline_settings, FAST_PIPELINE),
        "EROS_PHASE_IDLE_SECONDS": "[1, 2, 3]",
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-P", "-m", "eros.cli.main", "scheduler", "--metrics-port", str(port)],
            cwd=repo_root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until(lambda: _get(port, "/healthz") == "ok\n", what="the scheduler's /healthz")
        wait_until(lambda: redis_client.hlen("eros:scheduler:watermarks") == 3, what="a tick")
        user, idle_since = uuid4(), time.time_ns() // 1_000_000
        redis_client.zadd(ACTIVITY_KEY, {user.bytes: idle_since})
        deep = JobKey(user, Phase.DEEP, idle_since).id
        wait_until(
            lambda: (
                deep
                in phase_queue(
                    redis_client, from_settings(pipeline_settings), Phase.DEEP
                ).get_job_ids()
            ),
            what="the phase 3 job",
        )
        metrics = _get(port, "/metrics") or ""
        assert "eros_scheduler_leader 1.0" in metrics
        assert 'eros_jobs_enqueued_total{phase="3"} 1.0' in metrics
        assert 'eros_queue_depth{phase="3"} 1.0' in metrics

        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0, log.read_text()
        assert not redis_client.exists(SCHEDULER_LEASE_KEY)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_worker_serves_its_metrics_and_liveness(
    start_worker: Callable[..., WorkerProcess],
    enqueue: Callable[..., JobKey],
    redis_client: redis.Redis,
) -> None:
    port = free_port()
    key = enqueue(Phase.MEDIUM)
    worker = start_worker(phase=2, metrics_port=port)
    wait_until(
        lambda: Job.fetch(key.id, connection=redis_client).get_status() is JobStatus.FINISHED,
        what="completion",
    )
    wait_until(lambda: _get(port, "/healthz") == "ok\n", what="the worker's /healthz")
    metrics = wait_until(
        lambda: (
            (m := _get(port, "/metrics")) and 'eros_jobs_completed_total{phase="2"} 1.0' in m and m
        ),
        what="the completion in /metrics",
    )
    assert 'eros_jobs_started_total{phase="2"} 1.0' in metrics
    assert 'eros_job_duration_seconds_count{outcome="completed",phase="2"} 1.0' in metrics
    worker.send(signal.SIGTERM)
    assert worker.wait() == 0
