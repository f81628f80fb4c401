#!/usr/bin/env python3
"""Operator reaction time: a metrics change in Redis to the Deployment patch at the API.

    .venv/bin/python -P bench/operator.py [--iterations 40] [--tick 1] [--users 100000]

Starts embedded Valkey (or uses EROS_REDIS_URL), a Kubernetes API mock (kmock, with the
bookkeeping of tests/operator/kube_mock.py) and the real kopf operator in a thread, as
the operator tests do. An ErosProcessing with `tickSeconds: --tick` and no scale-down
stabilization watches `--users` users idle in phase 3. Each iteration waits a random
fraction of a tick (so that changes land anywhere in the tick), then moves the phase-3
queue between 2 and 5 jobs in one Redis transaction, and measures the time from the
transaction's return to the PATCH of the phase-3 Deployment's replicas arriving at the
mock. Prints p50/p90/p99/max of that latency and the operator's own tick duration.

Target (issue 4): within one tick plus 200 ms (KEDA takes 15-30 s).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import kmock
import redis
from rq import Queue

ROOT = Path(__file__).resolve().parent.parent
# The API mock and the operator harness are the operator tests' own.
sys.path.insert(0, str(ROOT))

from eros.core.activity import ACTIVITY_KEY
from eros.core.embedded import EmbeddedValkey
from eros.operator.prometheus import REGISTRY
from eros.operator.runtime import OperatorOptions
from tests.operator.helpers import NAME, NAMESPACE, eventually, processing
from tests.operator.kube_mock import (
    DEPLOYMENTS,
    EROSPROCESSINGS,
    Cluster,
    Emulator,
    mock_api,
    running_operator,
    write_kubeconfig,
)

LOW_JOBS = 2
HIGH_JOBS = 5
TARGET_MARGIN_SECONDS = 0.2
PHASE_3_IDLE_MS = 2 * 3600 * 1000
USERS_PER_BATCH = 10_000
DEPLOYMENT = f"{NAME}-phase-3"
QUEUE = "eros-phase-3"


class TimedEmulator(Emulator):
    """The mock, noting when each replica patch of a Deployment arrives."""

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.arrivals: list[tuple[float, str, int]] = []

    async def _handle(self, request: kmock.Request) -> Any:
        if (
            request.resource == DEPLOYMENTS
            and request.action == kmock.action.UPDATE
            and isinstance(request.data, dict)
        ):
            replicas = (request.data.get("spec") or {}).get("replicas")
            if replicas is not None:
                self.arrivals.append((time.perf_counter(), str(request.name), int(replicas)))
        return await super()._handle(request)


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}"


def seed_users(client: redis.Redis, users: int) -> None:
    idle_since = int(time.time() * 1000) - PHASE_3_IDLE_MS
    client.delete(ACTIVITY_KEY)
    for start in range(0, users, USERS_PER_BATCH):
        batch = min(USERS_PER_BATCH, users - start)
        client.zadd(ACTIVITY_KEY, {uuid.uuid4().bytes: idle_since for _ in range(batch)})


def move_jobs(queue: Queue, client: redis.Redis, extra: list[str], up: bool) -> list[str]:
    """Add or remove the extra jobs in one transaction, so the operator sees no midway state."""
    with client.pipeline(transaction=True) as pipe:
        if up:
            jobs = queue.enqueue_many(
                [Queue.prepare_data("builtins.len", ("x",)) for _ in range(HIGH_JOBS - LOW_JOBS)],
                pipeline=pipe,
            )
            extra = [job.id for job in jobs]
        else:
            for job_id in extra:
                queue.remove(job_id, pipeline=pipe)
            extra = []
        pipe.execute()
    return extra


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(args: argparse.Namespace, redis_url: str) -> list[float]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    seed_users(client, args.users)
    queue = Queue(QUEUE, connection=client)
    for _ in range(LOW_JOBS):
        queue.enqueue("builtins.len", "x")
    latencies: list[float] = []
    async with mock_api(TimedEmulator) as api:
        assert isinstance(api, TimedEmulator)
        with tempfile.TemporaryDirectory() as scratch:
            os.environ["KUBECONFIG"] = str(write_kubeconfig(api, Path(scratch) / "kubeconfig"))
            cluster = Cluster(api)
            await cluster.add_redis_secret(redis_url)
            options = OperatorOptions(
                namespaces=(NAMESPACE,), standalone=True, liveness_port=0, metrics_port=0
            )
            async with running_operator(options):
                spec = {
                    "tickSeconds": args.tick,
                    "cpuPool": "64",
                    "scaleDown": {"stabilizationWindowSeconds": 0},
                }
                await cluster.create(EROSPROCESSINGS, processing(spec))
                await eventually(lambda: cluster.replicas(DEPLOYMENT) == LOW_JOBS, within=60)
                extra: list[str] = []
                for i in range(args.iterations):
                    await asyncio.sleep(random.uniform(0, args.tick))
                    up = i % 2 == 0
                    target = HIGH_JOBS if up else LOW_JOBS
                    extra = await asyncio.to_thread(move_jobs, queue, client, extra, up)
                    changed = time.perf_counter()

                    def arrived(target: int = target, changed: float = changed) -> float | None:
                        for at, name, replicas in api.arrivals:
                            if at >= changed and name == DEPLOYMENT and replicas == target:
                                return float(at - changed)
                        return None

                    latencies.append(await eventually(arrived, within=args.tick * 10 + 10))
    client.close()
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=40)
    parser.add_argument("--tick", type=int, default=1, help="tickSeconds of the resource")
    parser.add_argument("--users", type=int, default=100_000, help="users idle in phase 3")
    args = parser.parse_args()

    external = os.environ.get("EROS_REDIS_URL")
    valkey = None
    if external:
        redis_url = external
    else:
        valkey = EmbeddedValkey(Path(tempfile.mkdtemp(prefix="eros-bench-")), persist=False)
        valkey.start()
        redis_url = valkey.url
    try:
        latencies = asyncio.run(measure(args, redis_url))
    finally:
        if valkey is not None:
            valkey.stop()

    labels = {"namespace": NAMESPACE, "name": NAME}
    ticks = REGISTRY.get_sample_value("eros_operator_reconcile_duration_seconds_count", labels)
    total = REGISTRY.get_sample_value("eros_operator_reconcile_duration_seconds_sum", labels)
    target = args.tick + TARGET_MARGIN_SECONDS
    print(f"machine: {machine()}")
    print(
        f"command: .venv/bin/python -P bench/operator.py --iterations {args.iterations} "
        f"--tick {args.tick} --users {args.users}"
    )
    print(
        f"metrics change -> Deployment patch at the API: {len(latencies)} changes, "
        f"tick {args.tick} s, {args.users} idle users"
    )
    for label, value in (
        ("p50", statistics.median(latencies)),
        ("p90", percentile(latencies, 0.90)),
        ("p99", percentile(latencies, 0.99)),
        ("max", max(latencies)),
        ("mean", statistics.fmean(latencies)),
    ):
        print(f"  {label:>4}: {value * 1000:8.1f} ms")
    print(f"  worst beyond one tick: {(max(latencies) - args.tick) * 1000:.1f} ms")
    if ticks and total:
        mean_ms = total / ticks * 1000
        print(
            f"operator tick (read, plan, scale, status): mean {mean_ms:.2f} ms, {ticks:.0f} ticks"
        )
    verdict = "met" if max(latencies) <= target else "NOT met"
    margin_ms = TARGET_MARGIN_SECONDS * 1000
    print(f"target max <= tick + {margin_ms:.0f} ms = {target * 1000:.0f} ms: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
