#!/usr/bin/env python3
"""Heartbeat throughput and latency, and activity-tracking memory and counting cost.

    .venv/bin/python -P bench/heartbeat.py [--seconds 10] [--rounds 3] [--connections 32]
        [--users 1000000]

1. Starts embedded Valkey and PostgreSQL (or uses EROS_REDIS_URL / EROS_DATABASE_URL),
   registers users, and serves two apps under uvicorn, each a single process with uvloop
   and httptools: the EROS API, and a baseline bare Starlette app doing one Redis ZADD
   per request. A keep-alive load generator (bench/loadgen.py) drives each in turn for
   `--seconds`, alternating for `--rounds`, and reports medians over rounds of req/s and
   per-round p50/p99, plus the ratios EROS/baseline.
2. Loads `--users` users into activity tracking and prints bytes per tracked user
   (Redis used_memory delta / users) and the time to count users per phase.

Targets: throughput >= 80% of the baseline's in the same run and p99 <= 1.5x the
baseline's (issue 12: the baseline is the limit of any heartbeat that writes to Redis),
<= 150 B/user and phase counts <= 1 ms at 1M users (issue 2).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import free_port, machine, servers, wait_ready
from loadgen import LoadResult, build_request, run_load

from eros.core.activity import ACTIVITY_KEY, count_users_per_phase
from eros.core.keys import SESSION_START_KEY

BENCH_JWT_SECRET = "bench-secret-that-is-long-enough-for-hs256-0123456789"
BENCH_MAX_HTTP_USERS = 2000
BASELINE_APP = """
import os, time
import redis.asyncio as aredis
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

client = aredis.Redis.from_url(os.environ["EROS_REDIS_URL"])

async def heartbeat(request):
    await request.body()
    now = time.time_ns() // 1_000_000
    await client.zadd("baseline:activity", {request.headers["x-user"]: now})
    return JSONResponse({"success": True, "timestamp": now})

app = Starlette(routes=[Route("/api/v1/heartbeat", heartbeat, methods=["POST"])])
"""


def cpu_seconds(pid: int) -> float:
    """User and system CPU of a process so far (Linux), NaN elsewhere: the load of other
    work on a shared machine moves req/s much more than CPU per request."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def post_json(url: str, body: dict[str, str]) -> dict[str, object]:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"content-type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(json.loads(response.read()))


def measure_http(
    args: argparse.Namespace, redis_url: str, database_url: str, workdir: Path
) -> None:
    env = {
        **os.environ,
        "EROS_ENVIRONMENT": "production",
        "EROS_JWT_SECRET": BENCH_JWT_SECRET,
        "EROS_REDIS_URL": redis_url,
        "EROS_DATABASE_URL": database_url,
        "EROS_LOG_LEVEL": "INFO",
        # Every benchmark user registers and logs in from this one address.
        "EROS_REGISTER_PER_ADDRESS_PER_HOUR": str(BENCH_MAX_HTTP_USERS),
        "EROS_LOGIN_PER_ADDRESS_PER_MINUTE": str(BENCH_MAX_HTTP_USERS),
    }
    eros_port, base_port = free_port(), free_port()
    (workdir / "baseline_app.py").write_text(BASELINE_APP)
    log = open(workdir / "servers.log", "wb")  # noqa: SIM115 - kept open for the servers' lifetime
    eros = subprocess.Popen(
        [sys.executable, "-P", "-m", "eros.cli.main", "api", "--port", str(eros_port)],
        env=env,
        stdout=log,
        stderr=log,
    )
    baseline = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "baseline_app:app",
            "--port",
            str(base_port),
            "--no-access-log",
            "--log-level",
            "warning",
            "--loop",
            "uvloop",
            "--http",
            "httptools",
        ],
        env=env,
        cwd=workdir,
        stdout=log,
        stderr=log,
    )
    try:
        wait_ready(f"http://127.0.0.1:{eros_port}/health")
        wait_ready(f"http://127.0.0.1:{base_port}/")  # a 404 from the baseline means it is up
        users = min(args.http_users, BENCH_MAX_HTTP_USERS)
        tokens = []
        for i in range(users):
            credentials = {
                "email": f"bench{i}-{uuid.uuid4().hex[:6]}@example.com",
                "password": "benchmark-password",
            }
            post_json(
                f"http://127.0.0.1:{eros_port}/api/v1/auth/register",
                {**credentials, "name": "Bench"},
            )
            body = post_json(f"http://127.0.0.1:{eros_port}/api/v1/auth/login", credentials)
            tokens.append(str(body["accessToken"]))
        payload = b'{"appActive":true,"screenOn":true}'
        eros_requests = [
            build_request(
                "POST",
                "/api/v1/heartbeat",
                payload,
                {"Authorization": f"Bearer {t}", "Content-Type": "application/json"},
            )
            for t in tokens
        ]
        base_requests = [
            build_request(
                "POST",
                "/api/v1/heartbeat",
                payload,
                {"X-User": uuid.uuid4().hex, "Content-Type": "application/json"},
            )
            for _ in tokens
        ]
        # Warm both up so neither pays for first-request imports inside the measurement.
        asyncio.run(run_load(eros_port, eros_requests, connections=4, seconds=1))
        asyncio.run(run_load(base_port, base_requests, connections=4, seconds=1))
        results: dict[str, list[LoadResult]] = {"baseline": [], "eros": []}
        cpu_us: dict[str, list[float]] = {"baseline": [], "eros": []}
        for _ in range(args.rounds):
            for name, process, port, reqs in (
                ("baseline", baseline, base_port, base_requests),
                ("eros", eros, eros_port, eros_requests),
            ):
                cpu_before = cpu_seconds(process.pid)
                result = asyncio.run(
                    run_load(port, reqs, connections=args.connections, seconds=args.seconds)
                )
                per_request = (cpu_seconds(process.pid) - cpu_before) / result.requests * 1e6
                results[name].append(result)
                cpu_us[name].append(per_request)
                print(
                    f"  {name:8s} {result.rps:8.0f} req/s  p50 {result.p50:6.2f} ms  "
                    f"p99 {result.percentile(0.99):6.2f} ms  errors {result.errors}  "
                    f"server CPU {per_request:5.0f} us/request"
                )
        summary = {
            name: (
                statistics.median(r.rps for r in runs),
                statistics.median(r.p50 for r in runs),
                statistics.median(r.percentile(0.99) for r in runs),
            )
            for name, runs in results.items()
        }
        print(
            f"\nHeartbeat over loopback, {args.connections} keep-alive connections, "
            f"{args.rounds} rounds x {args.seconds:.0f} s, medians over rounds:"
        )
        print(f"  {'':10s} {'req/s':>9s} {'p50 ms':>8s} {'p99 ms':>8s}")
        for name, (rps, p50, p99) in summary.items():
            print(f"  {name:10s} {rps:9.0f} {p50:8.2f} {p99:8.2f}")
        (b_rps, _, b_p99), (e_rps, _, e_p99) = summary["baseline"], summary["eros"]
        print(f"  throughput ratio eros/baseline: {e_rps / b_rps:.2f} (target >= 0.80)")
        print(f"  p99 ratio eros/baseline:        {e_p99 / b_p99:.2f} (target <= 1.50)")
        b_cpu, e_cpu = (statistics.median(cpu_us[name]) for name in ("baseline", "eros"))
        print(
            f"  server CPU per request, median: baseline {b_cpu:.0f} us, eros {e_cpu:.0f} us "
            f"(ratio baseline/eros {b_cpu / e_cpu:.2f})"
        )
    finally:
        for process in (eros, baseline):
            process.terminate()
            process.wait(10)
        log.close()


def measure_memory(args: argparse.Namespace, redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.delete(ACTIVITY_KEY, SESSION_START_KEY)
    before = int(client.info("memory")["used_memory"])
    now_ms = time.time_ns() // 1_000_000
    batch = 10_000
    spread_ms = 2 * 3600 * 1000
    loaded = 0
    started = time.perf_counter()
    while loaded < args.users:
        size = min(batch, args.users - loaded)
        members = {
            uuid.uuid4().bytes: now_ms - (hash((loaded, i)) % spread_ms) for i in range(size)
        }
        client.zadd(ACTIVITY_KEY, members)
        loaded += size
    load_seconds = time.perf_counter() - started
    after = int(client.info("memory")["used_memory"])
    per_user = (after - before) / args.users
    # Session starts exist only for users in a session (pruned once it is over).
    in_session = int(args.users * args.session_share)
    members_in_session = client.zrange(ACTIVITY_KEY, 0, in_session - 1) if in_session else []
    for i in range(0, len(members_in_session), batch):
        chunk = members_in_session[i : i + batch]
        client.zadd(SESSION_START_KEY, {m: now_ms - spread_ms for m in chunk})
    with_sessions = int(client.info("memory")["used_memory"])
    per_session = (with_sessions - after) / in_session if in_session else 0.0
    timings = []
    for _ in range(200):
        t0 = time.perf_counter()
        counts = count_users_per_phase(client, [600, 1800, 3600], now_ms)
        timings.append((time.perf_counter() - t0) * 1000)
    rtt = []
    for _ in range(200):
        t0 = time.perf_counter()
        client.ping()
        rtt.append((time.perf_counter() - t0) * 1000)
    print(f"\nActivity tracking with {args.users:,} users (loaded in {load_seconds:.1f} s):")
    print(f"  bytes per tracked user, last activity: {per_user:.1f}")
    print(
        f"  bytes per user in a session, session start: {per_session:.1f}; with "
        f"{args.session_share:.0%} of users in a session: "
        f"{(with_sessions - before) / args.users:.1f} per tracked user (target <= 150)"
    )
    print(
        f"  count users per phase (4 ZCOUNTs, one round trip): "
        f"median {statistics.median(timings):.3f} ms, p99 {sorted(timings)[197]:.3f} ms "
        f"(target <= 1 ms); PING round trip median {statistics.median(rtt):.3f} ms"
    )
    print(f"  counts (active, phase 1, 2, 3): {counts}")
    client.delete(ACTIVITY_KEY, SESSION_START_KEY)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="Duration of each run.")
    parser.add_argument("--rounds", type=int, default=3, help="Alternating rounds per app.")
    parser.add_argument("--connections", type=int, default=32, help="Concurrent connections.")
    parser.add_argument(
        "--http-users", type=int, default=500, help="Distinct users sending heartbeats."
    )
    parser.add_argument("--users", type=int, default=1_000_000, help="Users loaded for memory.")
    parser.add_argument(
        "--session-share",
        type=float,
        default=0.25,
        help="Share of tracked users in a session at once, for the session-start memory.",
    )
    parser.add_argument("--skip-http", action="store_true", help="Only measure memory and counts.")
    args = parser.parse_args()
    print(f"Machine: {machine()}")
    with servers("eros-bench-heartbeat-") as running:
        if not args.skip_http:
            measure_http(args, running.redis_url, running.database_url, running.workdir)
        measure_memory(args, running.redis_url)


if __name__ == "__main__":
    main()
