"""Drill: a worker and its work horse killed with SIGKILL (a pod OOM-killed, a node lost)
while a phase job runs and apps write through the API.

The job's execution stops being renewed, the running `eros scheduler` finds it abandoned
and puts it back at the front of its queue, and the worker started in its place (as the
Deployment would) resumes it from its last checkpoint: only the work since then is redone,
and the result is the one an uninterrupted run computes. The API never notices.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import uuid4

import pytest
import redis
from rq.job import Job, JobStatus

from eros.core.keys import ACTIVITY_KEY, checkpoint_key
from eros.core.phases import Phase
from eros.core.settings import Settings
from eros.pipeline.checkpoint import decode_checkpoint
from eros.pipeline.queue import Enqueuer, JobKey
from tests.conftest import TEST_JWT_SECRET
from tests.drills.load import Load, running
from tests.drills.stack import STOP_TIMEOUT_SECONDS, DrillStack
from tests.drills.verify import lost_writes, unexpected_answers
from tests.pipeline.fixtures import FAST_PIPELINE, wait_until
from tests.worker import cpu_work
from tests.worker.conftest import settings_env

pytestmark = pytest.mark.slow

logger = logging.getLogger(__name__)

ACKS_BEFORE_FAULT = 10
ACKS_AFTER_RECOVERY = 10
# A few seconds of hashing: long enough to be killed halfway, short enough for a drill.
STEPS = 1500
SPINS = 1000
KILLED_AT_STEP = STEPS // 3
IDLE_MS = 3_600_000


@pytest.fixture
def valkey(stack: DrillStack) -> Iterator[redis.Redis]:
    valkey = redis.Redis.from_url(stack.redis_url)
    yield valkey
    valkey.close()


@pytest.fixture
def pipeline_settings(stack: DrillStack) -> Settings:
    return Settings(
        environment="test",
        redis_url=stack.redis_url,
        database_url=stack.database_url,
        jwt_secret=TEST_JWT_SECRET,
        _env_file=None,
    ).model_copy(update=FAST_PIPELINE)


@pytest.fixture
def start(
    tmp_path: Path, repo_root: Path, pipeline_settings: Settings
) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start `eros <args>` over the drill's stack, running the test work; all are killed,
    with their process groups, at the end."""
    modules = tmp_path / "work-modules"
    modules.mkdir()
    # A top-level module: processes run with -P, so the repository root is not on sys.path.
    (modules / "cpu_work.py").symlink_to(Path(cpu_work.__file__).resolve())
    env = {
        **os.environ,
        **settings_env(pipeline_settings, FAST_PIPELINE),
        "EROS_WORKER_WORK_MODULES": '["cpu_work"]',
        "PYTHONPATH": str(modules),
        cpu_work.STEPS_ENV: str(STEPS),
        cpu_work.SPINS_ENV: str(SPINS),
    }
    started: list[subprocess.Popen[bytes]] = []

    def run(*args: str) -> subprocess.Popen[bytes]:
        with (tmp_path / f"{args[0]}-{len(started)}.log").open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-P", "-m", "eros.cli.main", *args, "--metrics-port", "0"],
                cwd=repo_root,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started.append(process)
        return process

    yield run
    for process in started:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(STOP_TIMEOUT_SECONDS)


def _status(client: redis.Redis, job_id: str) -> JobStatus:
    return Job.fetch(job_id, connection=client).get_status()


def _starts(client: redis.Redis, job_id: str) -> list[int]:
    return [int(step) for step in client.lrange(cpu_work.starts_key(job_id), 0, -1)]


def test_a_worker_killed_with_its_work_horse_mid_job_resumes_from_its_checkpoint(
    stack: DrillStack,
    load: Load,
    pipeline_settings: Settings,
    start: Callable[..., subprocess.Popen[bytes]],
    valkey: redis.Redis,
) -> None:
    user, idle_since = uuid4(), time.time_ns() // 1_000_000 - IDLE_MS
    valkey.zadd(ACTIVITY_KEY, {user.bytes: idle_since})
    assert Enqueuer(valkey, pipeline_settings).enqueue(Phase.DEEP, [(user.bytes, idle_since)])
    key = JobKey(user, Phase.DEEP, idle_since)
    start("scheduler")
    worker = start("worker", "--phase", "3")

    with running(load):
        load.wait_for_acks(ACKS_BEFORE_FAULT)
        wait_until(
            lambda: int(valkey.get(cpu_work.progress_key(key.id)) or 0) >= KILLED_AT_STEP,
            what="the job to be a third done",
        )
        horse = int(valkey.get(cpu_work.pid_key(key.id)) or 0)
        os.killpg(worker.pid, signal.SIGKILL)
        os.kill(horse, signal.SIGKILL)
        worker.wait(STOP_TIMEOUT_SECONDS)
        raw = valkey.get(checkpoint_key(int(key.phase), key.user_id))
        assert raw is not None, "the killed run left no checkpoint"
        checkpoint = decode_checkpoint(raw)
        assert checkpoint is not None
        saved = int(checkpoint.state["step"])

        start("worker", "--phase", "3")
        wait_until(lambda: _status(valkey, key.id) is JobStatus.FINISHED, what="the resumed job")
        load.wait_for_acks(ACKS_AFTER_RECOVERY, after=load.acks())

    result = Job.fetch(key.id, connection=valkey).return_value()
    assert isinstance(result, dict) and result["outcome"] == "completed"
    # The result an uninterrupted run computes.
    assert result["result"] == {
        "digest": cpu_work.expected_digest(user, STEPS, SPINS),
        "steps": STEPS,
    }
    # One run from the start, one from the checkpoint the killed run left: nothing else.
    assert _starts(valkey, key.id) == [0, saved]
    assert 0 < saved < STEPS
    assert lost_writes(stack.redis_url, stack.database_url, load.ledger) == []
    assert unexpected_answers(load.ledger) == set(), load.ledger.summary()
    logger.info(
        "The job resumed at step %d of %d; answers: %s.", saved, STEPS, load.ledger.summary()
    )
