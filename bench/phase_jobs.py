"""What each real phase job costs in CPU: the figures behind `eros simulate`'s defaults.

Seeds the city of `bench/candidate_pool.py` (`--members`, ten decisions each) in an
embedded PostgreSQL, records `--jobs` sampled members as idle since 61 minutes ago
(`record_heartbeat`), then runs their real jobs, phase 1, then 2, then 3 as the pipeline
would in one idle period, each through the work horse's own entry point
(`eros.worker.job.run_job`, in a fresh event loop by `run_in_loop`: its own Redis
client, PostgreSQL connection, start guard, checkpoints and completion; only RQ's
bookkeeping and the fork are left out). Each job's CPU is `time.process_time()` around
it, in this process, which runs it; PostgreSQL's CPU (the postmaster, its live children
and the children it reaped, from /proc) and Valkey's (`INFO cpu`) are other processes'
and reported apart, per job over each phase's batch.

Phase 3 ranks against the worker's shared candidate pool (`PoolKeeper`): one job loads it
cold, then every sampled member's job runs with it warm, then `--refreshes` more jobs
each find it stale and refresh it first. The refresh's cost over a warm job is amortised
over `--jobs-per-refresh` jobs (by default, what one worker runs back to back in
`candidate_pool_refresh_seconds` at the warm jobs' median wall time).

Last, other sampled members' jobs through the real worker, `eros worker --phase N
--burst` on a queue filled by the scheduler's `Enqueuer`: the CPU of the worker and its
work horses (its children, reaped), less that of the same command on an empty queue, per
job.
Phase 1's (`--worker-jobs`) shows what RQ and the fork of a work horse add to every job;
phase 3's (`--worker-deep-jobs`) what a job costs in a horse that inherits the pool its
worker warmed before the fork (a run of one job is subtracted: the pool's load aside),
half of them through the same worker with `HORSE_IMPORTS` emptied: the preload's baseline.

No Claude calls: the settings carry no API key, so phase 3 takes the rule-based
preferences, as it does whenever the daily Claude call is unavailable.

Run: .venv/bin/python -P bench/phase_jobs.py [--members 50000] [--jobs 100] [--seed 1]
Quick (~10 s): .venv/bin/python -P bench/phase_jobs.py --members 2000 --jobs 20
    --worker-jobs 0 --worker-deep-jobs 0
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import random
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import redis
from rq.job import Job, JobStatus

# `python -P` leaves the script's folder off sys.path; its siblings live there.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from candidate_pool import seed_city
from harness import machine, servers

from eros.core.activity import record_heartbeat
from eros.core.candidate_pool import PoolKeeper
from eros.core.clock import wall_ms
from eros.core.phases import Phase
from eros.core.redis_client import async_redis
from eros.core.settings import Settings
from eros.pipeline.queue import Enqueuer, JobKey
from eros.simulate.workers import DEFAULT_JOB_CPU_SECONDS, DEFAULT_JOB_CPU_SIGMA
from eros.worker.job import HorseRuntime, run_in_loop, run_job
from eros.worker.phases import DeepPhase, LightPhase, MediumPhase
from eros.worker.work import REGISTRY

DECISIONS_PER_MEMBER = 10
# Past phase 3's default threshold (60 min), so every phase's job is due.
IDLE_FOR_MS = 61 * 60 * 1000
P95 = 0.95
MS_PER_SECOND = 1000.0
WORKER_TIMEOUT_SECONDS = 1800.0
# A burst worker whose jobs have all ended exits within seconds; past this it is stuck.
EXIT_GRACE_SECONDS = 30.0
POLL_SECONDS = 0.2
DONE = (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)


@dataclass
class Sample:
    cpu_s: list[float] = field(default_factory=list)
    wall_s: list[float] = field(default_factory=list)
    postgres_s: float | None = None
    valkey_s: float | None = None


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(P95 * len(ordered)) - 1)]


def log_sigma(values: list[float]) -> float:
    """The lognormal sigma fitted to `values`: the standard deviation of their logs."""
    logs = [math.log(v) for v in values if v > 0]
    return statistics.stdev(logs) if len(logs) > 1 else 0.0


class ServerCpu:
    """CPU seconds PostgreSQL and Valkey used so far, where they run on this machine."""

    def __init__(self, db: psycopg.Connection[Any], valkey: redis.Redis) -> None:
        self._valkey = valkey
        self._tick = os.sysconf("SC_CLK_TCK")
        row = db.execute("SELECT pg_backend_pid()").fetchone()
        backend = _stat(int(row[0])) if row else None
        self._postmaster = int(backend[1]) if backend else None

    def postgres(self) -> float | None:
        """The postmaster's own CPU and its reaped children's, plus its live children's:
        each job's backend is a child that ends with the job's connection."""
        if self._postmaster is None:
            return None
        own = _stat(self._postmaster)
        if own is None:
            return None
        ticks = sum(int(v) for v in own[11:15])  # utime, stime, cutime, cstime
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                child = _stat(int(entry.name))
                if child is not None and int(child[1]) == self._postmaster:
                    ticks += int(child[11]) + int(child[12])
        return ticks / self._tick

    def valkey(self) -> float | None:
        info = self._valkey.info("cpu")
        try:
            return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
        except (KeyError, TypeError, ValueError):
            return None


def _stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat from its state on (state, ppid, ..., utime at index 11)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rpartition(")")[2].split()


def _delta(after: float | None, before: float | None) -> float | None:
    return None if after is None or before is None else after - before


@contextmanager
def _server_share(cpu: ServerCpu, sample: Sample, jobs: int) -> Iterator[None]:
    postgres, valkey = cpu.postgres(), cpu.valkey()
    yield
    pg_used, valkey_used = _delta(cpu.postgres(), postgres), _delta(cpu.valkey(), valkey)
    sample.postgres_s = None if pg_used is None else pg_used / jobs
    sample.valkey_s = None if valkey_used is None else valkey_used / jobs


def _one_job(key: JobKey, runtime: HorseRuntime) -> tuple[float, float]:
    """CPU and wall seconds of one job, run as a work horse runs it (minus RQ)."""
    cpu, wall = time.process_time(), time.perf_counter()
    outcome = run_in_loop(run_job(key, runtime))
    if outcome.get("outcome") != "completed":
        raise RuntimeError(f"job {key.id} did not complete: {outcome}")
    return time.process_time() - cpu, time.perf_counter() - wall


def _run_batch(
    keys: list[JobKey], runtime: HorseRuntime, cpu: ServerCpu, before_each: Callable[[], None]
) -> Sample:
    sample = Sample()
    with _server_share(cpu, sample, len(keys)):
        for key in keys:
            before_each()
            job_cpu, job_wall = _one_job(key, runtime)
            sample.cpu_s.append(job_cpu)
            sample.wall_s.append(job_wall)
    return sample


async def _mark_idle(settings: Settings, users: list[UUID], idle_since_ms: int) -> None:
    async with async_redis(str(settings.redis_url)) as client:
        for user in users:
            await record_heartbeat(client, user, idle_since_ms, settings.phase_idle_seconds)


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _wait_done(connection: redis.Redis, job_ids: list[str]) -> None:
    deadline = time.monotonic() + WORKER_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        jobs = Job.fetch_many(job_ids, connection=connection)
        if all(j is None or j.get_status() in DONE for j in jobs):
            return
        time.sleep(POLL_SECONDS)
    raise RuntimeError(f"{len(job_ids)} jobs did not end within {WORKER_TIMEOUT_SECONDS:.0f} s")


# `eros worker` with its preload emptied, for the baseline.
WITHOUT_PRELOAD = (
    "import sys; import eros.worker.runner as runner; runner.HORSE_IMPORTS = (); "
    "from eros.cli.main import main; sys.exit(main(sys.argv[1:]))"
)


def _burst_cpu(
    phase: Phase, settings: Settings, job_ids: list[str], preload: bool = True
) -> tuple[float, bool]:
    """CPU seconds of one `eros worker --phase N --burst` and the horses it forked, and
    whether it hung on its way out and was killed. Without `preload`, the same worker
    with `HORSE_IMPORTS` emptied: the baseline of what the preload saves."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EROS_")}
    env |= {
        "EROS_REDIS_URL": str(settings.redis_url),
        "EROS_DATABASE_URL": str(settings.database_url),
        "EROS_LOG_LEVEL": "WARNING",
    }
    entry = ["-m", "eros.cli.main"] if preload else ["-c", WITHOUT_PRELOAD]
    command = [sys.executable, "-P", *entry, "worker", "--phase", str(int(phase))]
    before = _children_cpu()
    with tempfile.TemporaryFile() as log:
        worker = subprocess.Popen(
            [*command, "--metrics-port", "0", "--burst"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )
        hung = False
        try:
            with redis.Redis.from_url(str(settings.redis_url)) as connection:
                _wait_done(connection, job_ids)
            worker.wait(timeout=EXIT_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            # RQ's scheduler process, forked by the worker, can take the SIGTERM its worker
            # sends on exit while it still starts up, and live on: the worker waits for it.
            hung = True
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        if worker.returncode not in (0, -signal.SIGKILL):
            log.seek(0)
            sys.stderr.write(log.read().decode(errors="replace"))
            raise RuntimeError(f"eros worker --phase {int(phase)} exited {worker.returncode}")
    return _children_cpu() - before, hung


def _through_worker(
    phase: Phase, keys: list[JobKey], settings: Settings, preload: bool = True, aside: int = 0
) -> tuple[float | None, int]:
    """CPU seconds per job of the real worker, and how many of its two runs hung on exit.

    One run works through the first `aside` jobs alone, the other through the rest; the
    difference per extra job leaves out what every run pays once: the worker's start and
    exit (with `aside` 0, the first run's queue is empty) and, from one job on, phase 3's
    pool load.
    """
    base, rest = keys[:aside], keys[aside:]
    if len(rest) <= len(base):
        return None, 0
    cpu = []
    hung = 0
    for batch in (base, rest):
        with redis.Redis.from_url(str(settings.redis_url)) as connection:
            counts = Enqueuer(connection, settings).enqueue(
                phase, [(k.user_id.bytes, k.idle_since_ms) for k in batch]
            )
        if counts.enqueued != len(batch):
            raise RuntimeError(f"enqueued {counts} of {len(batch)} phase-{int(phase)} jobs")
        used, stuck = _burst_cpu(phase, settings, [k.id for k in batch], preload)
        cpu.append(used)
        hung += stuck
    return (cpu[1] - cpu[0]) / (len(rest) - len(base)), hung


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * MS_PER_SECOND:.1f}"


def _row(name: str, sample: Sample) -> str:
    cpu = sample.cpu_s
    return (
        f"  {name:<22} {len(cpu):>5} {_ms(statistics.median(cpu)):>9} {_ms(_p95(cpu)):>9} "
        f"{_ms(statistics.mean(cpu)):>9} {log_sigma(cpu):>6.2f} "
        f"{_ms(statistics.median(sample.wall_s)):>9} {_ms(sample.postgres_s):>9} "
        f"{_ms(sample.valkey_s):>8}"
    )


def run(args: argparse.Namespace, redis_url: str, database_url: str) -> None:
    # No API key whatever the environment says: phase 3 runs its rule-based fallback.
    settings = Settings(
        redis_url=redis_url, database_url=database_url, anthropic_api_key=None, _env_file=None
    )
    runtime = HorseRuntime(settings, None, None)
    started = time.perf_counter()
    with psycopg.connect(database_url, autocommit=True) as db:
        seed_city(db, args.members, DECISIONS_PER_MEMBER)
        # Else autovacuum works through the fresh rows while the jobs are measured, and
        # its CPU counts as theirs.
        db.execute("VACUUM")
        everyone = [r[0] for r in db.execute("SELECT user_id FROM profiles ORDER BY user_id")]
    seeded_s = time.perf_counter() - started
    extra = 1 + args.refreshes  # the cold job's member and the refreshing jobs'
    in_process = args.jobs + extra + args.worker_deep_jobs
    wanted = in_process + args.worker_jobs
    if wanted > len(everyone):
        raise SystemExit(f"{wanted} members are needed; seed more with --members")
    chosen = random.Random(args.seed).sample(everyone, wanted)
    idle_since = wall_ms() - IDLE_FOR_MS
    asyncio.run(_mark_idle(settings, chosen, idle_since))

    age = [0.0]  # the pool keeper's clock: moved past the refresh age to force a refresh
    deep = DeepPhase(pools=PoolKeeper(clock=lambda: age[0]))
    for phase, work in ((Phase.LIGHT, LightPhase()), (Phase.MEDIUM, MediumPhase())):
        REGISTRY.register(phase, work, replace=True)
    REGISTRY.register(Phase.DEEP, deep, replace=True)

    def stale() -> None:
        age[0] += settings.candidate_pool_refresh_seconds

    def nothing() -> None:
        pass

    keys = {
        p: [JobKey(u, p, idle_since) for u in chosen[:in_process]]
        for p in Phase
        if p is not Phase.ACTIVE
    }
    deep_keys = keys[Phase.DEEP]
    with (
        psycopg.connect(database_url, autocommit=True) as db,
        redis.Redis.from_url(redis_url) as valkey,
    ):
        cpu = ServerCpu(db, valkey)
        light = _run_batch(keys[Phase.LIGHT], runtime, cpu, nothing)
        medium = _run_batch(keys[Phase.MEDIUM], runtime, cpu, nothing)
        cold = _run_batch(deep_keys[:1], runtime, cpu, nothing)
        warm = _run_batch(deep_keys[extra : extra + args.jobs], runtime, cpu, nothing)
        refresh = _run_batch(deep_keys[1:extra], runtime, cpu, stale)
    light_keys = [JobKey(u, Phase.LIGHT, idle_since) for u in chosen[in_process:]]
    light_worker, light_hung = _through_worker(Phase.LIGHT, light_keys, settings)
    # Half the phase-3 jobs through a worker without its preload first, then the other
    # half through the real one: the baseline is measured in the same run.
    through = deep_keys[extra + args.jobs :]
    bare_worker, bare_hung = _through_worker(Phase.DEEP, through[1::2], settings, False, 1)
    deep_worker, deep_hung = _through_worker(Phase.DEEP, through[::2], settings, aside=1)
    deep_hung += bare_hung

    print(f"Phase jobs' CPU ({machine()})")
    print(
        f"  seeded {args.members:,} members ({DECISIONS_PER_MEMBER} decisions each) in "
        f"{seeded_s:.1f} s; {len(chosen)} sampled members (seed {args.seed}), idle 61 min; "
        "preferences by rules (no Claude API key)"
    )
    print(
        f"  {'job (ms)':<22} {'n':>5} {'cpu p50':>9} {'cpu p95':>9} {'cpu mean':>9} "
        f"{'sigma':>6} {'wall p50':>9} {'pg/job':>9} {'vk/job':>8}"
    )
    print(_row("phase 1", light))
    print(_row("phase 2", medium))
    print(_row("phase 3, warm pool", warm))
    print(_row("phase 3, loads pool", cold))
    if refresh.cpu_s:
        print(_row("phase 3, refreshes", refresh))
    warm_cpu = statistics.median(warm.cpu_s)
    per_refresh = args.jobs_per_refresh or max(
        1, int(settings.candidate_pool_refresh_seconds / statistics.median(warm.wall_s))
    )
    refresh_extra = (statistics.median(refresh.cpu_s) - warm_cpu) if refresh.cpu_s else 0.0
    load_extra = cold.cpu_s[0] - warm_cpu
    amortised = warm_cpu + refresh_extra / per_refresh
    print(
        f"  pool load {load_extra * MS_PER_SECOND:.0f} ms and refresh "
        f"{refresh_extra * MS_PER_SECOND:.0f} ms over a warm job; refresh every "
        f"{settings.candidate_pool_refresh_seconds:.0f} s = {per_refresh:,} jobs of one "
        f"busy worker: phase 3 {amortised * MS_PER_SECOND:.1f} ms a job amortised"
    )
    # What RQ and the horse's fork add to a job, whatever its phase.
    overhead = 0.0
    if light_worker is not None:
        overhead = max(0.0, light_worker - statistics.mean(light.cpu_s))
        print(
            f"  through `eros worker --phase 1 --burst`, {len(light_keys)} jobs: "
            f"{light_worker * MS_PER_SECOND:.1f} ms a job (worker and horse), "
            f"{overhead * MS_PER_SECOND:.1f} ms of it RQ and the fork"
        )
    if deep_worker is not None:
        print(
            f"  through `eros worker --phase 3 --burst`, {len(through[::2])} jobs: "
            f"{deep_worker * MS_PER_SECOND:.1f} ms a job (worker and horse, its one pool "
            "load aside)"
        )
    if deep_worker is not None and bare_worker:
        print(
            f"    the same without HORSE_IMPORTS, {len(through[1::2])} jobs: "
            f"{bare_worker * MS_PER_SECOND:.1f} ms a job; ratio {deep_worker / bare_worker:.2f}"
        )
    if light_hung or deep_hung:
        print(
            f"  {light_hung + deep_hung} worker run(s) hung on exit (RQ's scheduler process "
            "missed its SIGTERM) and were killed; their scheduler's CPU is not counted"
        )
    fitted = tuple(
        v + overhead
        for v in (statistics.median(light.cpu_s), statistics.median(medium.cpu_s), amortised)
    )
    plus = "each plus RQ and the fork" if light_worker is not None else "RQ not measured"
    sigmas = (log_sigma(light.cpu_s), log_sigma(medium.cpu_s), log_sigma(warm.cpu_s))
    print(
        f"  simulator (medians, phase 3 amortised, {plus}): --job-cpu "
        + ",".join(f"{v:.3g}" for v in fitted)
        + f" (sigmas {', '.join(f'{s:.2f}' for s in sigmas)}); defaults now "
        + ",".join(f"{v:g}" for v in DEFAULT_JOB_CPU_SECONDS)
        + f", sigma {DEFAULT_JOB_CPU_SIGMA:g}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=50_000, help="Members seeded.")
    parser.add_argument("--jobs", type=int, default=100, help="Jobs measured per phase.")
    parser.add_argument("--seed", type=int, default=1, help="Seed of the members' sample.")
    parser.add_argument("--refreshes", type=int, default=3, help="Phase-3 jobs that refresh.")
    parser.add_argument(
        "--worker-jobs", type=int, default=150, help="Phase-1 jobs through `eros worker`."
    )
    parser.add_argument(
        "--worker-deep-jobs",
        type=int,
        default=20,
        help="Phase-3 jobs through `eros worker`, half of them without its preload.",
    )
    parser.add_argument(
        "--jobs-per-refresh",
        type=int,
        default=0,
        help="Phase-3 jobs a refresh is amortised over (0: one busy worker's per refresh age).",
    )
    args = parser.parse_args()
    if args.jobs < 2 or min(args.refreshes, args.worker_jobs, args.worker_deep_jobs) < 0:
        parser.error("--jobs takes at least 2; the other counts at least 0")
    logging.basicConfig(level=logging.WARNING)
    with servers("eros-bench-phase-jobs-") as running:
        run(args, running.redis_url, running.database_url)


if __name__ == "__main__":
    main()
