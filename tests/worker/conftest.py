"""Fixtures of the worker's tests: real worker processes (the pipeline's fixtures are in
tests/pipeline/fixtures.py)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from eros.core.settings import Settings
from eros.worker.work import REGISTRY
from tests.conftest import TEST_JWT_SECRET
from tests.pipeline.fixtures import FAST_PIPELINE
from tests.worker import cpu_work

STOP_TIMEOUT_SECONDS = 15.0
LONG_WORK = {cpu_work.STEPS_ENV: "100000"}


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
        # The worker leads its process group, with RQ's scheduler process in it: a
        # scheduler orphaned by a killed worker would hold the next test's scheduler lock.
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
