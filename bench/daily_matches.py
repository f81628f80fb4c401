"""Latency of `GET /api/v1/matches/daily`: cached, from PostgreSQL, and computed on demand.

    .venv/bin/python -P bench/daily_matches.py [--candidates 400] [--viewers 50] [--reads 20]

Starts embedded Valkey and PostgreSQL unless EROS_REDIS_URL / EROS_DATABASE_URL are set,
seeds users with profiles, runs the API under uvicorn (`eros api`, one process), and
times requests one at a time from this process (client-side, keep-alive). In-server
time is the mean of `eros_http_request_duration_seconds` for the route over each stage,
read from /metrics before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import random
import re
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from uuid import UUID, uuid4

import psycopg
import redis
from psycopg.rows import dict_row

# `python -P` leaves the script's folder off sys.path; its siblings live there.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import free_port, machine, servers, wait_ready

from eros.core.profiles import Gender, Profile, save_profile
from eros.core.tokens import Role, issue_access_token

BENCH_JWT_SECRET = "bench-secret-that-is-long-enough-for-hs256-0123456789"

TOKEN_TTL_SECONDS = 3600
INTERESTS = ("hiking", "reading", "gaming", "cooking", "music", "travel", "yoga", "art")
ROUTE = "/api/v1/matches/daily"
_METRIC = re.compile(
    r'eros_http_request_duration_seconds_(sum|count)\{method="GET",route="/api/v1/matches/daily"\} '
    r"([0-9.e+-]+)"
)


def _profile(user_id: UUID, gender: Gender, sought: Gender, rng: random.Random) -> Profile:
    return Profile(
        user_id=user_id,
        display_name="P",
        birth_date=date(1990 + rng.randrange(10), 1 + rng.randrange(12), 1 + rng.randrange(28)),
        gender=gender,
        genders_sought=(sought,),
        bio="Bench profile.",
        photo_urls=("https://img.example.com/1.jpg",),
        latitude=52.5 + rng.uniform(-0.2, 0.2),
        longitude=13.4 + rng.uniform(-0.2, 0.2),
        max_distance_km=100.0,
        interests={k: rng.randrange(101) for k in rng.sample(INTERESTS, 4)},
        values={"honesty": rng.randrange(101), "kindness": rng.randrange(101)},
    )


async def _seed(database_url: str, candidates: int, viewers: int) -> list[UUID]:
    rng = random.Random(7)
    now = datetime.now(UTC)
    viewer_ids = []
    conn = await psycopg.AsyncConnection.connect(
        database_url, autocommit=True, row_factory=dict_row
    )
    async with conn:
        for i in range(candidates + viewers):
            user_id = uuid4()
            await conn.execute(
                "INSERT INTO users (id, email, password_hash, name) VALUES (%s, %s, 'x', 'B')",
                (user_id, f"bench{i}-{user_id.hex[:8]}@example.com"),
            )
            is_viewer = i >= candidates
            gender, sought = (Gender.WOMAN, Gender.MAN) if is_viewer else (Gender.MAN, Gender.WOMAN)
            await save_profile(conn, _profile(user_id, gender, sought, rng), now)
            if is_viewer:
                viewer_ids.append(user_id)
    return viewer_ids


def _in_server(conn: http.client.HTTPConnection) -> tuple[float, float]:
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    found = dict(_METRIC.findall(text))
    return float(found.get("sum", 0.0)), float(found.get("count", 0.0))


def _get(conn: http.client.HTTPConnection, token: str) -> tuple[float, str]:
    started = time.perf_counter()
    conn.request("GET", ROUTE, headers={"Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    body = response.read()
    elapsed = (time.perf_counter() - started) * 1000
    if response.status != 200:
        raise RuntimeError(f"{response.status}: {body[:200]!r}")
    return elapsed, body.split(b'"source":"', 1)[1].split(b'"', 1)[0].decode()


def _report(name: str, samples: list[float], metrics: tuple[float, float]) -> None:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    mean_in_server = metrics[0] / metrics[1] * 1000 if metrics[1] else float("nan")
    print(
        f"{name:>9}: n={len(samples):5d}  p50={statistics.median(ordered):7.2f} ms  "
        f"p99={p99:7.2f} ms  in-server mean={mean_in_server:6.2f} ms"
    )


def measure(args: argparse.Namespace, redis_url: str, database_url: str, workdir: Path) -> None:
    viewers = asyncio.run(_seed(database_url, args.candidates, args.viewers))
    now_s = int(time.time())
    tokens = [
        issue_access_token(
            v, Role.USER, secret=BENCH_JWT_SECRET, now_s=now_s, ttl_seconds=TOKEN_TTL_SECONDS
        )
        for v in viewers
    ]
    port = free_port()
    env = {
        **os.environ,
        "EROS_ENVIRONMENT": "production",
        "EROS_JWT_SECRET": BENCH_JWT_SECRET,
        "EROS_REDIS_URL": redis_url,
        "EROS_DATABASE_URL": database_url,
        "EROS_LOG_LEVEL": "WARNING",
    }
    log = open(workdir / "api.log", "wb")  # noqa: SIM115 - open for the server's lifetime
    api = subprocess.Popen(
        [sys.executable, "-P", "-m", "eros.cli.main", "api", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/health")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        redis_cli = redis.Redis.from_url(redis_url)
        stages: dict[str, list[float]] = {"computed": [], "database": [], "cache": []}
        metrics: dict[str, tuple[float, float]] = {}
        for stage in ("computed", "database", "cache"):
            sum0, count0 = _in_server(conn)
            rounds = args.reads if stage == "cache" else 1
            for _ in range(rounds):
                for viewer, token in zip(viewers, tokens, strict=True):
                    if stage == "database":
                        redis_cli.delete(f"eros:matches:daily:{viewer}")
                    elapsed, source = _get(conn, token)
                    if source != stage:
                        raise RuntimeError(f"expected {stage}, got {source}")
                    stages[stage].append(elapsed)
            sum1, count1 = _in_server(conn)
            metrics[stage] = (sum1 - sum0, count1 - count0)
        for stage, samples in stages.items():
            _report(stage, samples, metrics[stage])
    finally:
        api.terminate()
        api.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--candidates", type=int, default=400, help="Men the viewers may see.")
    parser.add_argument("--viewers", type=int, default=50, help="Women requesting matches.")
    parser.add_argument("--reads", type=int, default=20, help="Cached reads per viewer.")
    args = parser.parse_args()
    print(f"Machine: {machine()}")
    with servers("eros-bench-daily-") as running:
        measure(args, running.redis_url, running.database_url, running.workdir)


if __name__ == "__main__":
    main()
