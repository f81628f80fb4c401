"""Fixtures of the job pipeline's tests: fast settings, real worker processes, idle users."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
import redis

from eros.core.keys import ACTIVITY_KEY
from eros.core.phases import Phase
from eros.core.settings import Settings
from eros.pipeline.queue import Enqueuer, JobKey
from eros.worker.work import REGISTRY
from tests.conftest import TEST_JWT_SECRET
from tests.worker import cpu_work

WAIT_TIMEOUT_SECONDS = 45.0
WAIT_INTERVAL_SECONDS = 0.02
STOP_TIMEOUT_SECONDS = 15.0
# Short intervals, so that abandonment, polling and retries happen within a test.
FAST_PIPELINE: dict[str, Any] = {
    "worker_heartbeat_seconds": 1,
    "worker_abandoned_after_seconds": 3,
    "halt_poll_seconds": 0.05,
    "halt_grace_seconds": 3.0,
    "checkpoint_cpu_seconds": 0.02,
    "worker_shutdown_grace_seconds": 10.0,
    "job_retry_max": 2,
    "job_retry_backoff_seconds": [1],
    "recovery_interval_seconds": 0.5,
    "worker_work_modules": ["tests.worker.cpu_work"],
}
LONG_WORK = {cpu_work.STEPS_ENV: "100000"}


def wait_until(
    predicate: Callable[[], Any], *, timeout: float = WAIT_TIMEOUT_SECONDS, what: str = "condition"
) -> Any:
    """Poll until `predicate()` is truthy and return it; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(WAIT_INTERVAL_SECONDS)


def settings_env(settings: Settings, overrides: dict[str, Any]) -> dict[str, str]:
    env = {
        "EROS_ENVIRONMENT": "test",
        "EROS_JWT_SECRET": TEST_JWT_SECRET,
        "EROS_REDIS_URL": str(settings.redis_url),
        "EROS_LOG_FORMAT": "text",
        "EROS_LOG_LEVEL": "INFO",
    }
    for name, value in overrides.items():
        env[f"EROS_{name.upper()}"] = json.dumps(value) if isinstance(value, list) else str(value)
    return env


@pytest.fixture
def pipeline_settings(settings: Settings) -> Settings:
    return settings.model_copy(update=FAST_PIPELINE)


@pytest.fixture
def registry() -> Iterator[None]:
    """The test work, registered in this process (for jobs run in-process)."""
    REGISTRY.clear()
    cpu_work.register_work(REGISTRY)
    yield
    REGISTRY.clear()


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    log: Path

    def send(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float = STOP_TIMEOUT_SECONDS) -> int:
        return self.process.wait(timeout)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="session")
def work_module_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the test work as the top-level module `cpu_work`: worker
    processes import it from PYTHONPATH, and run with `-P`, since the repository root on
    sys.path would let `operator/` shadow the standard library."""
    directory = tmp_path_factory.mktemp("work-modules")
    (directory / "cpu_work.py").symlink_to(Path(cpu_work.__file__).resolve())
    return directory


@pytest.fixture
def start_worker(
    tmp_path: Path,
    pipeline_settings: Settings,
    redis_client: redis.Redis,
    repo_root: Path,
    work_module_path: Path,
) -> Iterator[Callable[..., WorkerProcess]]:
    """Start `eros worker --phase N` processes; all are stopped, horses included, at the end."""
    started: list[WorkerProcess] = []

    def start(
        phase: int = 1, *, metrics_port: int = 0, env: dict[str, str] | None = None
    ) -> WorkerProcess:
        log = tmp_path / f"worker-{len(started)}.log"
        environment = {
            **os.environ,
            **settings_env(pipeline_settings, FAST_PIPELINE),
            "EROS_WORKER_WORK_MODULES": '["cpu_work"]',
            "PYTHONPATH": str(work_module_path),
            **(env or {}),
        }
        with log.open("wb") as out:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-P",
                    "-m",
                    "eros.cli.main",
                    "worker",
                    "--phase",
                    str(phase),
                    "--metrics-port",
                    str(metrics_port),
                ],
                cwd=repo_root,
                env=environment,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        worker = WorkerProcess(process, log)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.process.poll() is None:
            # The worker leads its process group, with RQ's scheduler process in it.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.process.pid, signal.SIGKILL)
            worker.process.wait(STOP_TIMEOUT_SECONDS)
    # A horse outlives a killed worker until its next safe point; make sure none touches
    # the next test's Redis.
    for key in redis_client.scan_iter("test:pid:*"):
        pid = int(redis_client.get(key) or 0)
        if pid > 0:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def enqueue(redis_client: redis.Redis, pipeline_settings: Settings) -> Callable[..., JobKey]:
    """Make a user idle since `idle_since_ms` and enqueue their job for `phase`."""
    enqueuer = Enqueuer(redis_client, pipeline_settings)

    def make(
        phase: Phase = Phase.LIGHT, *, user_id: UUID | None = None, idle_since_ms: int | None = None
    ) -> JobKey:
        user_id = user_id or uuid4()
        idle_since_ms = idle_since_ms or time.time_ns() // 1_000_000 - 3_600_000
        redis_client.zadd(ACTIVITY_KEY, {user_id.bytes: idle_since_ms})
        counts = enqueuer.enqueue(phase, [(user_id.bytes, idle_since_ms)])
        assert counts.enqueued == 1
        return JobKey(user_id, phase, idle_since_ms)

    return make
