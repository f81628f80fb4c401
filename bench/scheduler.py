#!/usr/bin/env python3
"""Scheduler throughput at scale: users examined and jobs enqueued per second.

    .venv/bin/python -P bench/scheduler.py [--users 1000000] [--backlog-minutes 10] [--rounds 3]

1. Starts an embedded Valkey (or uses EROS_REDIS_URL) and loads `--users` users into
   activity tracking, last active uniformly over the past two hours.
2. Steady state: ticks at 1-second steps of an injected clock, as in production, and
   prints the tick duration and the users examined per tick: a range query per phase,
   never a scan of all users.
3. Backlog: moves every phase's watermark `--backlog-minutes` back (a scheduler that was
   down, or an off-peak window opening) and times one tick that enqueues every crossing
   of that window: users examined/s and jobs enqueued/s. Next to it, the baseline: RQ's
   own bulk `Queue.enqueue_many` of the same number of jobs, pipelined the same way, which
   neither deduplicates nor checks that the user is still idle.

Target (issue 3): >= 5,000 jobs enqueued per second.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redis
from rq import Queue

# `python -P` leaves the script's folder off sys.path; its siblings live there.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import machine

from eros.core.clock import ManualClock
from eros.core.embedded import EmbeddedValkey
from eros.core.keys import ACTIVITY_KEY, SCHEDULER_WATERMARKS_KEY
from eros.core.settings import Settings
from eros.pipeline.queue import JOB_FUNCTION
from eros.pipeline.scheduler import DEEPEST_FIRST, Scheduler

LOAD_BATCH = 20_000
SPREAD_MS = 2 * 3600 * 1000
STEADY_TICKS = 30
BENCH_JWT_SECRET = "bench-secret-that-is-long-enough-for-hs256-0123456789"


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def load_users(client: redis.Redis, users: int, now_ms: int) -> None:
    rng = random.Random(7)
    started = time.perf_counter()
    for first in range(0, users, LOAD_BATCH):
        with client.pipeline(transaction=False) as pipe:
            pipe.zadd(
                ACTIVITY_KEY,
                {
                    uuid.UUID(int=rng.getrandbits(128)).bytes: now_ms - rng.randrange(SPREAD_MS)
                    for _ in range(min(LOAD_BATCH, users - first))
                },
            )
            pipe.execute()
    say(f"loaded {client.zcard(ACTIVITY_KEY):,} users in {time.perf_counter() - started:.1f} s")


def clear_jobs(client: redis.Redis) -> None:
    for pattern in ("rq:*", "eros:user-jobs:*"):
        keys = list(client.scan_iter(pattern, count=10_000))
        for first in range(0, len(keys), 10_000):
            client.delete(*keys[first : first + 10_000])


def steady_state(client: redis.Redis, settings: Settings, now_ms: int) -> None:
    clock = ManualClock(now_ms)
    scheduler = Scheduler(client, settings, clock=clock, name="bench")
    scheduler.tick()
    durations, examined = [], []
    for _ in range(STEADY_TICKS):
        clock.advance(seconds=1)
        started = time.perf_counter()
        report = scheduler.tick()
        durations.append((time.perf_counter() - started) * 1000)
        examined.append(report.total_examined)
    scheduler.release()
    say(
        f"steady state, {STEADY_TICKS} ticks of 1 s: "
        f"tick p50 {statistics.median(durations):.2f} ms, "
        f"max {max(durations):.2f} ms; users examined per tick: median "
        f"{statistics.median(examined):.0f} (of {client.zcard(ACTIVITY_KEY):,} tracked)"
    )


def backlog(
    client: redis.Redis, settings: Settings, now_ms: int, minutes: int
) -> tuple[float, float, int]:
    clock = ManualClock(now_ms)
    scheduler = Scheduler(client, settings, clock=clock, name="bench")
    scheduler.tick()
    client.hset(
        SCHEDULER_WATERMARKS_KEY,
        mapping={str(int(p)): now_ms - minutes * 60_000 for p in DEEPEST_FIRST},
    )
    started = time.perf_counter()
    report = scheduler.tick()
    seconds = time.perf_counter() - started
    scheduler.release()
    return report.total_examined / seconds, report.total_enqueued / seconds, report.total_enqueued


def rq_baseline(client: redis.Redis, settings: Settings, jobs: int) -> float:
    queue = Queue(settings.phase_queues[0], connection=client)
    batch = settings.scheduler_batch_users
    started = time.perf_counter()
    for first in range(0, jobs, batch):
        data = [
            Queue.prepare_data(
                JOB_FUNCTION,
                args=(str(uuid.uuid4()), 1, 0),
                job_id=f"baseline-{first + i}",
                timeout=settings.job_timeout_seconds,
                result_ttl=settings.job_result_ttl_seconds,
            )
            for i in range(min(batch, jobs - first))
        ]
        with client.pipeline() as pipe:
            queue.enqueue_many(data, pipeline=pipe)
            pipe.execute()
    return jobs / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--backlog-minutes", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    say(f"machine: {machine()}")
    external = os.environ.get("EROS_REDIS_URL")
    server = None
    workdir = tempfile.TemporaryDirectory(prefix="eros-bench-")
    if not external:
        server = EmbeddedValkey(Path(workdir.name) / "valkey", persist=False)
        server.start()
    url = external or server.url  # type: ignore[union-attr]
    settings = Settings(
        environment="test", redis_url=url, jwt_secret=BENCH_JWT_SECRET, _env_file=None
    )
    client = redis.Redis.from_url(url)
    try:
        now_ms = time.time_ns() // 1_000_000
        client.delete(ACTIVITY_KEY, SCHEDULER_WATERMARKS_KEY)
        clear_jobs(client)
        load_users(client, args.users, now_ms)
        steady_state(client, settings, now_ms)
        clear_jobs(client)
        examined, enqueued, rq_rates = [], [], []
        for round_number in range(1, args.rounds + 1):
            examined_rate, enqueue_rate, jobs = backlog(
                client, settings, now_ms, args.backlog_minutes
            )
            clear_jobs(client)
            baseline = rq_baseline(client, settings, jobs)
            clear_jobs(client)
            examined.append(examined_rate)
            enqueued.append(enqueue_rate)
            rq_rates.append(baseline)
            say(
                f"round {round_number}: backlog of {args.backlog_minutes} min, {jobs:,} jobs: "
                f"examined {examined_rate:,.0f} users/s, enqueued {enqueue_rate:,.0f} jobs/s; "
                f"RQ enqueue_many {baseline:,.0f} jobs/s"
            )
        median_enqueued, median_rq = statistics.median(enqueued), statistics.median(rq_rates)
        say(
            f"median: examined {statistics.median(examined):,.0f} users/s, enqueued "
            f"{median_enqueued:,.0f} jobs/s (target >= 5,000); RQ enqueue_many "
            f"{median_rq:,.0f} jobs/s; ratio {median_enqueued / median_rq:.2f}"
        )
    finally:
        client.close()
        if server is not None:
            server.stop()
        workdir.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
