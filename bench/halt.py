#!/usr/bin/env python3
"""Halt latency: from a returning user's heartbeat to their running job stopped.

    .venv/bin/python -P bench/halt.py [--jobs 200] [--rate 50] [--busy-us 100] [--sleep-ms 100]
        [--rounds 1]

1. Starts an embedded Valkey and PostgreSQL (or uses EROS_REDIS_URL / EROS_DATABASE_URL)
   and the EROS API under uvicorn.
2. EROS: enqueues `--jobs` phase-1 jobs for as many idle users and starts as many
   `eros worker --phase 1` processes, so that every job runs at once. Each job loops on a
   little CPU (`--busy-us`) and a wait (`--sleep-ms`), checkpointing through the pipeline's
   `JobContext`. Once all run, it sends each user's heartbeat (`POST /api/v1/heartbeat`,
   `--rate` per second) and times, per job, from just before the request is sent to:
   - the job's work stopped (the job's own clock, in its halted record, ms resolution);
   - its work horse process gone (a pidfd per horse, so the halt's bookkeeping counts).
3. Baseline, in the same run: the same jobs as bare RQ jobs on as many plain `rq worker`
   processes, each stopped with RQ's `send_stop_job_command` (which SIGKILLs the horse),
   timed from just before the call to the horse process gone.

Target (issue 3): halt p99 <= 50 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import redis

# `python -P` leaves the script's folder off sys.path; its siblings live there.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from halt_work import BUSY_ENV, SLEEP_ENV, pid_key
from harness import free_port, machine
from rq import Queue
from rq.command import send_stop_job_command
from rq.job import Job

from eros.core.embedded import EmbeddedPostgres, EmbeddedValkey
from eros.core.keys import ACTIVITY_KEY
from eros.core.migrate import apply_migrations
from eros.core.phases import Phase
from eros.core.settings import Settings
from eros.core.tokens import Role, issue_access_token
from eros.pipeline.queue import Enqueuer, JobKey

BENCH_DIR = Path(__file__).resolve().parent

BENCH_JWT_SECRET = "bench-secret-that-is-long-enough-for-hs256-0123456789"
BASELINE_QUEUE = "bench-baseline"
STARTUP_TIMEOUT_SECONDS = 600.0
STOP_TIMEOUT_SECONDS = 60.0
EXIT_WAIT_SECONDS = 30.0
IDLE_SINCE_MS_AGO = 3_600_000


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def wait_for(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise RuntimeError(f"timed out waiting for {what}")


def p(values_ms: list[float], q: float) -> float:
    ordered = sorted(values_ms)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def percentiles(values_ms: list[float]) -> str:
    return (
        f"p50 {statistics.median(values_ms):7.2f} ms  p99 {p(values_ms, 0.99):7.2f} ms  "
        f"max {max(values_ms):7.2f} ms  (n={len(values_ms)})"
    )


class ExitWatcher(threading.Thread):
    """Records when each watched process exits (pidfds: they need not be our children)."""

    def __init__(self, pids: dict[str, int]) -> None:
        super().__init__(daemon=True)
        self.exited: dict[str, float] = {}
        self._poll = select.epoll()
        self._fds: dict[int, str] = {}
        for job_id, pid in pids.items():
            fd = os.pidfd_open(pid)
            self._fds[fd] = job_id
            self._poll.register(fd, select.EPOLLIN)

    def run(self) -> None:
        while len(self.exited) < len(self._fds):
            for fd, _ in self._poll.poll(1.0):
                now = time.time()
                self.exited.setdefault(self._fds[fd], now)
                self._poll.unregister(fd)
                os.close(fd)


def start_all(
    commands: list[list[str]], env: dict[str, str], log: Any
) -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen(
            command, cwd=BENCH_DIR, env=env, stdout=log, stderr=log, start_new_session=True
        )
        for command in commands
    ]


def stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    for process in processes:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def running_pids(client: redis.Redis, job_ids: list[str]) -> dict[str, int] | None:
    values = client.mget([pid_key(job_id) for job_id in job_ids])
    if any(value is None for value in values):
        return None
    return {job_id: int(value or 0) for job_id, value in zip(job_ids, values, strict=True)}


def reset(client: redis.Redis) -> None:
    for pattern in ("rq:*", "eros:*", "bench:*"):
        keys = list(client.scan_iter(pattern, count=10_000))
        if keys:
            client.delete(*keys)


def run_eros(
    args: argparse.Namespace,
    client: redis.Redis,
    settings: Settings,
    env: dict[str, str],
    api_port: int,
    log: Any,
) -> tuple[list[float], list[float], int, int]:
    reset(client)
    now_ms = time.time_ns() // 1_000_000
    users = [uuid.UUID(int=i + 1) for i in range(args.jobs)]
    idle_since = now_ms - IDLE_SINCE_MS_AGO
    client.zadd(ACTIVITY_KEY, {user.bytes: idle_since for user in users})
    counts = Enqueuer(client, settings).enqueue(Phase.LIGHT, [(u.bytes, idle_since) for u in users])
    assert counts.enqueued == args.jobs, counts
    job_ids = [JobKey(user, Phase.LIGHT, idle_since).id for user in users]
    tokens = [
        issue_access_token(
            user, Role.USER, secret=BENCH_JWT_SECRET, now_s=now_ms // 1000, ttl_seconds=3600
        )
        for user in users
    ]
    command = [
        sys.executable,
        "-m",
        "eros.cli.main",
        "worker",
        "--phase",
        "1",
        "--metrics-port",
        "0",
    ]
    started = time.monotonic()
    workers = start_all([command] * args.jobs, env, log)
    try:
        pids = wait_for(lambda: running_pids(client, job_ids), STARTUP_TIMEOUT_SECONDS, "jobs")
        say(
            f"eros: {args.jobs} jobs running on {args.jobs} workers after "
            f"{time.monotonic() - started:.0f} s"
        )
        watcher = ExitWatcher(pids)
        watcher.start()
        connection = http.client.HTTPConnection("127.0.0.1", api_port, timeout=10)
        body = b'{"appActive":true,"screenOn":true}'
        sent: dict[str, float] = {}
        halted = 0
        for job_id, token in zip(job_ids, tokens, strict=True):
            sent[job_id] = time.time()
            connection.request(
                "POST",
                "/api/v1/heartbeat",
                body,
                {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            response = connection.getresponse()
            halted += int(json.loads(response.read())["haltedJobs"])
            time.sleep(1 / args.rate)
        connection.close()
        watcher.join(EXIT_WAIT_SECONDS)
        exited = [(watcher.exited[j] - sent[j]) * 1000 for j in job_ids if j in watcher.exited]
        stopped, arrived, killed = [], [], 0
        for job_id in job_ids:
            record = Job.fetch(job_id, connection=client).meta.get("halted", {})
            killed += record.get("via") == "killed"
            if record.get("stoppedAtMs"):
                stopped.append(record["stoppedAtMs"] - sent[job_id] * 1000)
            if record.get("receivedAtMs"):
                arrived.append(record["receivedAtMs"] - sent[job_id] * 1000)
        say(f"eros: heartbeat sent -> received by the API: {percentiles(arrived)}")
        return stopped, exited, halted, killed
    finally:
        stop_all(workers)


def run_baseline(
    args: argparse.Namespace, client: redis.Redis, url: str, env: dict[str, str], log: Any
) -> list[float]:
    reset(client)
    queue = Queue(BASELINE_QUEUE, connection=client)
    job_ids = [
        queue.enqueue("halt_work.plain_forever", job_id=f"baseline-{i}", job_timeout=-1).id
        for i in range(args.jobs)
    ]
    command = [
        # RQ's command line from this interpreter: the venv's `rq` need not be on PATH.
        sys.executable,
        "-m",
        "rq.cli",
        "worker",
        BASELINE_QUEUE,
        "--url",
        url,
        "--path",
        str(BENCH_DIR),
        "--logging_level",
        "WARNING",
        "--worker-class",
        "rq.Worker",
    ]
    started = time.monotonic()
    workers = start_all([command] * args.jobs, env, log)
    try:
        pids = wait_for(lambda: running_pids(client, job_ids), STARTUP_TIMEOUT_SECONDS, "jobs")
        say(
            f"baseline: {args.jobs} jobs running on {args.jobs} rq workers after "
            f"{time.monotonic() - started:.0f} s"
        )
        watcher = ExitWatcher(pids)
        watcher.start()
        sent: dict[str, float] = {}
        for job_id in job_ids:
            sent[job_id] = time.time()
            send_stop_job_command(client, job_id)
            time.sleep(1 / args.rate)
        watcher.join(EXIT_WAIT_SECONDS)
        return [(watcher.exited[j] - sent[j]) * 1000 for j in job_ids if j in watcher.exited]
    finally:
        stop_all(workers)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--rate", type=float, default=50.0, help="halts per second")
    # 200 jobs share the machine's cores: by default each takes ~0.1% of a core, like a job
    # mostly waiting on PostgreSQL or an API between its checkpoints.
    parser.add_argument("--busy-us", type=int, default=100, help="CPU per loop")
    parser.add_argument("--sleep-ms", type=int, default=100, help="wait per loop")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    say(f"machine: {machine()}")
    say(
        f"jobs: {args.jobs} at once, each {args.busy_us} us of CPU then a {args.sleep_ms} ms "
        f"wait, in a loop; {args.rate:g} halts/s"
    )

    workdir = tempfile.TemporaryDirectory(prefix="eros-bench-")
    valkey = postgres = None
    url = os.environ.get("EROS_REDIS_URL")
    database_url = os.environ.get("EROS_DATABASE_URL")
    if not url:
        valkey = EmbeddedValkey(Path(workdir.name) / "valkey", persist=False)
        valkey.start()
        url = valkey.url
    if not database_url:
        postgres = EmbeddedPostgres(Path(workdir.name) / "postgres", delete_on_stop=True)
        postgres.start()
        database_url = postgres.url
    apply_migrations(database_url)
    env = {
        **os.environ,
        "EROS_ENVIRONMENT": "production",
        "EROS_JWT_SECRET": BENCH_JWT_SECRET,
        "EROS_REDIS_URL": url,
        "EROS_DATABASE_URL": database_url,
        "EROS_LOG_LEVEL": "WARNING",
        "EROS_WORKER_WORK_MODULES": '["halt_work"]',
        BUSY_ENV: str(args.busy_us),
        SLEEP_ENV: str(args.sleep_ms),
    }
    settings = Settings(
        environment="test", redis_url=url, jwt_secret=BENCH_JWT_SECRET, _env_file=None
    )
    client = redis.Redis.from_url(url)
    log = open(Path(workdir.name) / "processes.log", "ab")  # noqa: SIM115 - shared by children
    api_port = free_port()
    api = subprocess.Popen(
        [sys.executable, "-P", "-m", "eros.cli.main", "api", "--port", str(api_port)],
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        wait_for(lambda: _ready(api_port), 60, "the API")
        ours_stopped: list[float] = []
        ours_exited: list[float] = []
        theirs: list[float] = []
        halted_total = killed_total = 0
        for _ in range(args.rounds):
            stopped, exited, halted, killed = run_eros(args, client, settings, env, api_port, log)
            ours_stopped += stopped
            ours_exited += exited
            halted_total += halted
            killed_total += killed
            theirs += run_baseline(args, client, url, env, log)
        say(
            f"heartbeats reported {halted_total} halted jobs of {args.jobs * args.rounds}; "
            f"{killed_total} had to be killed after the grace period"
        )
        say(f"EROS heartbeat -> work stopped:     {percentiles(ours_stopped)}")
        say(f"EROS heartbeat -> horse exited:     {percentiles(ours_exited)}")
        say(f"RQ send_stop_job_command -> exited: {percentiles(theirs)}")
        # RQ's job stops when its horse dies: that is the baseline's "work stopped".
        say(
            "ratios EROS work stopped / RQ: "
            f"p50 {statistics.median(ours_stopped) / statistics.median(theirs):.2f}, "
            f"p99 {p(ours_stopped, 0.99) / p(theirs, 0.99):.2f}; "
            f"target p99 <= 50 ms: {'met' if p(ours_stopped, 0.99) <= 50 else 'NOT met'}"
        )
    finally:
        api.send_signal(signal.SIGTERM)
        api.wait(30)
        client.close()
        log.close()
        if valkey is not None:
            valkey.stop()
        if postgres is not None:
            postgres.stop()
        workdir.cleanup()
    return 0


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
            return True
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
