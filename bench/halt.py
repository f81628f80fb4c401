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

With `--real-jobs` (`[--per-phase 10] [--claude-delay-s 5] [--rounds 1]`), the jobs are
the phases' real work (`eros.worker.phases`) on seeded users: phase 3 waits on Claude (a
fake Messages API, `tests/fake_anthropic.py`, that answers after `--claude-delay-s`), and
phases 1 and 2 wait on a slow query (the script holds a lock on `interactions` that their
first query needs). Once every job waits, it sends the heartbeats and prints, per phase
and overall, heartbeat to work stopped and to horse gone, and how many halts needed the
SIGKILL fallback. No RQ baseline in this mode.

Target (issue 3): halt p99 <= 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import importlib.util
import json
import os
import random
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

import psycopg
import redis
from psycopg.rows import dict_row

# `python -P` leaves the script's folder off sys.path; its siblings live there.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from halt_work import BUSY_ENV, SLEEP_ENV, pid_key
from harness import free_port, machine
from rq import Queue
from rq.command import send_stop_job_command
from rq.job import Job

from eros.core.clock import utc_from_ms
from eros.core.embedded import EmbeddedPostgres, EmbeddedValkey
from eros.core.keys import ACTIVITY_KEY
from eros.core.migrate import apply_migrations
from eros.core.phases import Phase
from eros.core.profiles import Gender, Profile, save_profile
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


REPO_DIR = BENCH_DIR.parent
CANDIDATES = 12
LIKES = 4
SKIPS = 2
PREFERENCES = {
    "summary": "Drawn to hikers.",
    "weights": {"interest:hiking": 0.8},
    "dealbreakers": [],
    "confidence": 0.5,
}


def _fake_anthropic() -> Any:
    """The tests' fake Messages API, loaded by path (the repository root is not on sys.path:
    its `operator/` would shadow the standard library)."""
    path = REPO_DIR / "tests" / "fake_anthropic.py"
    spec = importlib.util.spec_from_file_location("bench_fake_anthropic", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _person(user_id: uuid.UUID, gender: Gender, sought: Gender, rng: random.Random) -> Profile:
    return Profile(
        user_id=user_id,
        display_name="P",
        birth_date=utc_from_ms(631152000000 + rng.randrange(10**11)).date(),
        gender=gender,
        genders_sought=(sought,),
        bio="Bench profile.",
        photo_urls=("https://img.example.com/1.jpg",),
        latitude=52.5 + rng.uniform(-0.1, 0.1),
        longitude=13.4 + rng.uniform(-0.1, 0.1),
        max_distance_km=100.0,
        interests={"hiking": rng.randrange(101), "gaming": rng.randrange(101)},
        values={"honesty": rng.randrange(101)},
    )


async def _seed_people(database_url: str, users: list[uuid.UUID], at_ms: int) -> None:
    """`users` (women who see men) and their likes and skips of a few men, before `at_ms`."""
    rng = random.Random(len(users))
    now = utc_from_ms(at_ms)
    async with await psycopg.AsyncConnection.connect(
        database_url, autocommit=True, row_factory=dict_row
    ) as conn:
        men = [uuid.uuid4() for _ in range(CANDIDATES)]
        for user_id in [*men, *users]:
            await conn.execute(
                "INSERT INTO users (id, email, password_hash, name) VALUES (%s, %s, 'x', 'B')",
                (user_id, f"halt-{user_id.hex}@example.com"),
            )
        for man in men:
            await save_profile(conn, _person(man, Gender.MAN, Gender.WOMAN, rng), now)
        for user_id in users:
            await save_profile(conn, _person(user_id, Gender.WOMAN, Gender.MAN, rng), now)
            for i, man in enumerate(rng.sample(men, LIKES + SKIPS)):
                await conn.execute(
                    "INSERT INTO interactions (actor_id, target_id, kind, occurred_at, source) "
                    "VALUES (%s, %s, %s, %s, 'batch')",
                    (user_id, man, "like" if i < LIKES else "skip", utc_from_ms(at_ms - 60_000)),
                )


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def _horses(client: redis.Redis, job_ids: set[str]) -> dict[str, list[int]]:
    """Per running job, its worker's children: the work horse (and perhaps RQ's scheduler,
    which outlives the halt, so the first exit among them is the horse's). The job's
    execution (`rq:execution:<job>:<id>`) names its worker, whose hash holds its pid."""
    found: dict[str, list[int]] = {}
    for key in client.scan_iter("rq:execution:*"):
        job = key.decode().split(":")[2]
        worker = client.hget(key, "worker_name")
        if job not in job_ids or not worker:
            continue
        pid = int(client.hget(f"rq:worker:{worker.decode()}", "pid") or 0)
        if pid:
            found[job] = _children(pid)
    return found


def _waiting_on_locks(database_url: str) -> int:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        ).fetchone()
    return int(row[0]) if row else 0


def run_real(
    args: argparse.Namespace,
    client: redis.Redis,
    settings: Settings,
    env: dict[str, str],
    api_port: int,
    log: Any,
    database_url: str,
) -> tuple[dict[int, list[float]], list[float], int, int]:
    """One round: returns heartbeat-to-stopped per phase, to horse gone, halted, killed."""
    reset(client)
    fake_module = _fake_anthropic()
    delay = args.claude_delay_s

    def slow(_: dict[str, Any]) -> bytes:
        time.sleep(delay)  # the fake's handler thread: this reply simply comes late
        body = fake_module.message_body(json.dumps(PREFERENCES), "end_turn", "claude-test")
        return json.dumps(body).encode()

    now_ms = time.time_ns() // 1_000_000
    idle_since = now_ms - IDLE_SINCE_MS_AGO
    phases = (Phase.LIGHT, Phase.MEDIUM, Phase.DEEP)
    users = {phase: [uuid.uuid4() for _ in range(args.per_phase)] for phase in phases}
    everyone = [u for phase in phases for u in users[phase]]
    asyncio.run(_seed_people(database_url, everyone, idle_since))
    client.zadd(ACTIVITY_KEY, {user.bytes: idle_since for user in everyone})
    keys = [JobKey(u, phase, idle_since) for phase in phases for u in users[phase]]
    lock = psycopg.connect(database_url)
    lock.execute("LOCK TABLE interactions IN ACCESS EXCLUSIVE MODE")
    workers: list[subprocess.Popen[bytes]] = []
    with fake_module.FakeAnthropic(default=fake_module.Reply(render=slow)) as fake:
        real_env = {
            **env,
            "EROS_WORKER_WORK_MODULES": '["eros.worker.phases"]',
            "EROS_ANTHROPIC_API_KEY": "bench-key",
            "EROS_ANTHROPIC_BASE_URL": fake.url,
            "EROS_ANTHROPIC_MAX_RETRIES": "0",
        }
        try:
            enqueuer = Enqueuer(client, settings)
            for phase in phases:
                counts = enqueuer.enqueue(phase, [(u.bytes, idle_since) for u in users[phase]])
                assert counts.enqueued == args.per_phase, counts
            started = time.monotonic()
            for phase in phases:
                command = [
                    sys.executable,
                    "-m",
                    "eros.cli.main",
                    "worker",
                    "--phase",
                    str(int(phase)),
                    "--metrics-port",
                    "0",
                ]
                workers += start_all([command] * args.per_phase, real_env, log)
            n = args.per_phase
            wait_for(
                lambda: len(fake.requests) >= n and _waiting_on_locks(database_url) >= 2 * n,
                STARTUP_TIMEOUT_SECONDS,
                "every job waiting on Claude or on its query",
            )
            say(
                f"real jobs: {3 * n} waiting ({n} on Claude, {2 * n} on a query) after "
                f"{time.monotonic() - started:.0f} s"
            )
            horses = _horses(client, {key.id for key in keys})
            watched = {f"{job}:{pid}": pid for job, pids in horses.items() for pid in pids}
            watcher = ExitWatcher(watched)
            watcher.start()
            tokens = {
                u: issue_access_token(
                    u, Role.USER, secret=BENCH_JWT_SECRET, now_s=now_ms // 1000, ttl_seconds=3600
                )
                for u in everyone
            }
            order = list(keys)
            random.Random(1).shuffle(order)
            connection = http.client.HTTPConnection("127.0.0.1", api_port, timeout=10)
            body = b'{"appActive":true,"screenOn":true}'
            sent: dict[str, float] = {}
            halted = 0
            for key in order:
                sent[key.id] = time.time()
                connection.request(
                    "POST",
                    "/api/v1/heartbeat",
                    body,
                    {
                        "Authorization": f"Bearer {tokens[key.user_id]}",
                        "Content-Type": "application/json",
                    },
                )
                response = connection.getresponse()
                halted += int(json.loads(response.read())["haltedJobs"])
                time.sleep(1 / args.rate)
            connection.close()
            wait_for(
                lambda: all(Job.fetch(k.id, connection=client).meta.get("halted") for k in keys),
                EXIT_WAIT_SECONDS,
                "every job halted",
            )
            watcher.join(EXIT_WAIT_SECONDS)
        finally:
            lock.rollback()
            lock.close()
            stop_all(workers)
    stopped: dict[int, list[float]] = {int(phase): [] for phase in phases}
    killed = 0
    for key in keys:
        record = Job.fetch(key.id, connection=client).meta.get("halted", {})
        killed += record.get("via") == "killed"
        if record.get("stoppedAtMs"):
            stopped[int(key.phase)].append(record["stoppedAtMs"] - sent[key.id] * 1000)
    exited = []
    for job, pids in horses.items():
        times = [watcher.exited[f"{job}:{pid}"] for pid in pids if f"{job}:{pid}" in watcher.exited]
        if times:
            exited.append((min(times) - sent[job]) * 1000)
    return stopped, exited, halted, killed


def main_real(
    args: argparse.Namespace,
    client: redis.Redis,
    settings: Settings,
    env: dict[str, str],
    api_port: int,
    log: Any,
    database_url: str,
) -> None:
    per_phase: dict[int, list[float]] = {1: [], 2: [], 3: []}
    exited: list[float] = []
    halted_total = killed_total = 0
    for _ in range(args.rounds):
        stopped, gone, halted, killed = run_real(
            args, client, settings, env, api_port, log, database_url
        )
        for phase, values in stopped.items():
            per_phase[phase] += values
        exited += gone
        halted_total += halted
        killed_total += killed
    total = 3 * args.per_phase * args.rounds
    say(
        f"heartbeats reported {halted_total} halted jobs of {total}; "
        f"SIGKILL needed for {killed_total}"
    )
    names = {1: "phase 1 (query)", 2: "phase 2 (query)", 3: "phase 3 (Claude)"}
    for phase, values in per_phase.items():
        if values:
            say(f"{names[phase]:17} heartbeat -> work stopped: {percentiles(values)}")
    everything = [v for values in per_phase.values() for v in values]
    say(f"all real jobs     heartbeat -> work stopped: {percentiles(everything)}")
    if exited:
        say(f"all real jobs     heartbeat -> horse exited: {percentiles(exited)}")
    met = p(everything, 0.99) <= 50 and killed_total == 0
    say(f"target p99 <= 50 ms with no SIGKILL: {'met' if met else 'NOT met'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--rate", type=float, default=50.0, help="halts per second")
    # 200 jobs share the machine's cores: by default each takes ~0.1% of a core, like a job
    # mostly waiting on PostgreSQL or an API between its checkpoints.
    parser.add_argument("--busy-us", type=int, default=100, help="CPU per loop")
    parser.add_argument("--sleep-ms", type=int, default=100, help="wait per loop")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--real-jobs", action="store_true", help="the phases' real work")
    parser.add_argument("--per-phase", type=int, default=10, help="real jobs per phase")
    parser.add_argument("--claude-delay-s", type=float, default=5.0)
    args = parser.parse_args()
    say(f"machine: {machine()}")
    if args.real_jobs:
        say(
            f"real jobs: {args.per_phase} per phase at once, Claude answering after "
            f"{args.claude_delay_s:g} s; {args.rate:g} halts/s"
        )
    else:
        say(
            f"jobs: {args.jobs} at once, each {args.busy_us} us of CPU then a "
            f"{args.sleep_ms} ms wait, in a loop; {args.rate:g} halts/s"
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
        if args.real_jobs:
            main_real(args, client, settings, env, api_port, log, database_url)
            return 0
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
