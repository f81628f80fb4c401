"""Matcher speed: filter and rank 100k candidates for one user, and top-10 for 10k users.

Single-threaded on purpose (BLAS/OpenMP thread counts are set to 1 before NumPy loads),
since a worker process gets one core. The population is synthetic but shaped like a
dating app's: three genders, ages 18-65 with age ranges around one's own, users spread
around a few cities with 10-150 km limits, 40 interests, 12 values, 4 communication
keys, weekly availability, off-limits topics, ~30 decisions and ~60 impressions per
user, 1 block per 10 users. `--worst-case` makes every filter pass (everyone seeks
everyone, no age or distance limits), so all 100k candidates are scored.

Baseline, measured in the same run on the same rows: a plain NumPy top-k of one dot
product (the viewer's interest vector against the candidates' interest matrix) with
`argpartition` -- no filters, no second side, no reasons.

Run: .venv/bin/python -P bench/matcher.py [--candidates 100000] [--users 10000] [--single 200]

`--pool-size 1000000` measures phase 3 against a whole large city instead: one pool of
that many profiles (built in slices, as a worker would hold it), top 10 for `--single`
viewers (median and p95), the pool's memory per profile against a phase-3 worker's
memory, and the projected nightly pass over `--night-viewers` viewers against the
phase-3 budget of `--resource` (cores x off-peak hours of that ErosProcessing).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from eros.core.matching import (
    AvailabilityWindow,
    BlockGraph,
    CandidatePool,
    InteractionKind,
    InteractionLog,
    MatchContext,
    MatchProfile,
    MatchVocabulary,
    ModelTable,
    NonNegotiable,
    NonNegotiableKind,
    Reputation,
    prior_model,
    rank_for_viewer,
)
from eros.core.matching.filters import candidate_rows
from eros.core.matching.ranking import ExposureLedger, daily_order

DEFAULT_CANDIDATES = 100_000
DEFAULT_USERS = 10_000
DEFAULT_SINGLE = 200  # viewers timed one by one for the single-user median
DEFAULT_SEED = 6
TOP_K = 10
DAYS_PER_YEAR = 365.25
NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
GENDERS = ("woman", "man", "nonbinary")
GENDER_SHARE = (0.48, 0.48, 0.04)
CITIES = ((52.52, 13.40), (48.14, 11.58), (50.94, 6.96), (53.55, 9.99), (50.11, 8.68))
CITY_SPREAD_DEG = 0.25  # ~25 km standard deviation around a city centre
INTERESTS = tuple(f"interest_{i}" for i in range(40))
VALUES = tuple(f"value_{i}" for i in range(12))
STYLE = ("directness", "humor", "pace", "warmth")
TOPICS = (*INTERESTS[:20], *(f"topic_{i}" for i in range(12)))
DECISIONS_PER_USER = 30
IMPRESSIONS_PER_USER = 60
BLOCKS_PER_USER = 0.1
POOL_SLICE = 100_000  # profiles turned into columns at a time
POOL_EVENTS_PER_USER = 10  # a big pool's log is kept small: memory, not speed, is the limit
DEFAULT_NIGHT_VIEWERS = 100_000
DEFAULT_RESOURCE = Path(__file__).resolve().parent.parent / "examples/erosprocessing-large.yaml"
PHASE_3 = "phase-3"
SECONDS_PER_HOUR = 3600
MINUTES_PER_HOUR = 60
HOURS_PER_DAY = 24
MILLICORES_PER_CORE = 1000
BYTES_PER_MIB = 1024 * 1024
MEMORY_UNITS = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}


def synthetic_profiles(
    n: int, rng: np.random.Generator, worst_case: bool, first_id: int = 0
) -> list[MatchProfile]:
    profiles = []
    for uid in range(first_id, first_id + n):
        gender = str(rng.choice(GENDERS, p=GENDER_SHARE))
        age = int(rng.integers(18, 66))
        if worst_case:
            sought, lo, hi, limit = frozenset(GENDERS), 18, 99, None
        else:
            sought = frozenset({"man"} if gender == "woman" else {"woman"})
            if rng.random() < 0.15:
                sought = frozenset(GENDERS)
            lo, hi = max(18, age - int(rng.integers(3, 12))), age + int(rng.integers(3, 12))
            limit = float(rng.choice([10, 25, 50, 100, 150]))
        city = CITIES[int(rng.integers(len(CITIES)))]
        keys = rng.choice(len(INTERESTS), size=8, replace=False)
        values = rng.choice(len(VALUES), size=6, replace=False)
        windows = tuple(
            AvailabilityWindow(int(d), int(s) * 60, int(s) * 60 + 120)
            for d, s in zip(rng.integers(0, 7, 4), rng.integers(8, 22, 4), strict=True)
        )
        profiles.append(
            MatchProfile(
                user_id=uid,
                gender=gender,
                genders_sought=sought,
                birth_date=NOW.date()
                - timedelta(days=int(age * DAYS_PER_YEAR + rng.integers(0, 365))),
                age_min=lo,
                age_max=hi,
                last_active_at=NOW - timedelta(days=float(rng.exponential(6.0))),
                latitude=city[0] + rng.normal(0, CITY_SPREAD_DEG),
                longitude=city[1] + rng.normal(0, CITY_SPREAD_DEG),
                max_distance_km=limit,
                interests={INTERESTS[k]: float(rng.integers(0, 101)) for k in keys},
                values={VALUES[k]: float(rng.integers(0, 101)) for k in values},
                communication_style={k: float(rng.integers(0, 101)) for k in STYLE},
                conversation_depth=float(rng.integers(0, 101)),
                availability=windows,
                off_limits_topics=frozenset(
                    str(t) for t in rng.choice(TOPICS, size=int(rng.integers(0, 3)), replace=False)
                ),
                non_negotiables=(NonNegotiable(NonNegotiableKind.VALUE, VALUES[values[0]]),),
                photo_count=int(rng.integers(0, 6)),
                bio_length=int(rng.integers(0, 300)),
                active=bool(rng.random() > 0.02),
            )
        )
    return profiles


def synthetic_log(
    n: int,
    rng: np.random.Generator,
    decisions: int = DECISIONS_PER_USER,
    impressions: int = IMPRESSIONS_PER_USER,
) -> InteractionLog:
    now = NOW.timestamp()
    per_user = decisions + impressions
    actor = np.repeat(np.arange(n, dtype=np.int64), per_user)
    target = rng.integers(0, n, size=actor.shape[0]).astype(np.int64)
    kind = np.where(
        np.tile(np.arange(per_user), n) < decisions,
        np.where(rng.random(actor.shape[0]) < 0.3, InteractionKind.LIKE, InteractionKind.SKIP),
        InteractionKind.IMPRESSION,
    ).astype(np.int8)
    at = now - rng.uniform(0, 60 * 86_400, size=actor.shape[0])
    return InteractionLog(actor, target, kind, at)


def timed(fn: object, *args: object) -> float:
    start = time.perf_counter()
    fn(*args)  # type: ignore[operator]
    return time.perf_counter() - start


def _cores(quantity: str) -> float:
    text = str(quantity)
    return float(text[:-1]) / MILLICORES_PER_CORE if text.endswith("m") else float(text)


def _bytes(quantity: str) -> int:
    text = str(quantity)
    for unit, size in MEMORY_UNITS.items():
        if text.endswith(unit):
            return int(float(text[: -len(unit)]) * size)
    return int(text)


def _window_hours(off_peak: dict[str, Any]) -> float:
    def minutes(hhmm: str) -> int:
        hours, mins = hhmm.split(":")
        return int(hours) * MINUTES_PER_HOUR + int(mins)

    span = (minutes(off_peak["end"]) - minutes(off_peak["start"])) % (
        HOURS_PER_DAY * MINUTES_PER_HOUR
    )
    return span / MINUTES_PER_HOUR


def phase3_budget(resource: Path) -> tuple[float, float, int]:
    """Cores phase 3 may use, hours it may run a night, and one worker's memory (bytes)."""
    spec = yaml.safe_load(resource.read_text())["spec"]
    phase = next(p for p in spec["phases"] if p["name"] == PHASE_3)
    pool = _cores(spec["cpuPool"]) * (1 - spec.get("headroomPercent", 0) / 100)
    cores = min(
        pool * phase["cpuBudgetPercent"] / 100, phase["maxReplicas"] * _cores(phase["cpuPerWorker"])
    )
    hours = _window_hours(spec["offPeak"]) if phase.get("offPeakOnly") else float(HOURS_PER_DAY)
    return cores, hours, _bytes(phase["memoryPerWorker"])


def pool_benchmark(args: argparse.Namespace) -> None:
    """Phase 3 against a whole city: see the module docstring."""
    rng = np.random.default_rng(args.seed)
    n, now = args.pool_size, NOW.timestamp()
    vocabulary = MatchVocabulary(GENDERS, INTERESTS, VALUES, STYLE, TOPICS)
    slices, build_s = [], 0.0
    for first in range(0, n, POOL_SLICE):
        profiles = synthetic_profiles(min(POOL_SLICE, n - first), rng, args.worst_case, first)
        start = time.perf_counter()  # the columns only, not the synthetic profiles
        slices.append(CandidatePool.from_profiles(profiles, vocabulary))
        build_s += time.perf_counter() - start
    pool = CandidatePool.concatenate(slices)
    del slices, profiles
    half = POOL_EVENTS_PER_USER // 2
    log = synthetic_log(n, rng, half, POOL_EVENTS_PER_USER - half)
    pairs = rng.integers(0, n, size=(int(n * BLOCKS_PER_USER), 2))
    blocks = BlockGraph(pairs[:, 0], pairs[:, 1])
    reputation = Reputation.from_log(log, n)
    prior = prior_model()
    models = ModelTable(
        np.full(n, prior.intercept) + rng.normal(0, 0.5, n),
        prior.weights + rng.normal(0, 0.2, (n, prior.weights.shape[0])),
    )
    ctx = MatchContext(pool, models, reputation, log, blocks)

    viewers = daily_order(np.arange(n, dtype=np.int64), day=0)[: args.single]
    ledger = ExposureLedger.fresh(n)
    times = [timed(rank_for_viewer, ctx, int(v), now, TOP_K, ledger) for v in viewers]
    eligible = statistics.fmean(
        len(candidate_rows(pool, int(v), now, blocks, log, ctx.rules)) for v in viewers
    )
    per_viewer_load_s = eligible * build_s / n
    med, p95, mean = (
        statistics.median(times),
        float(np.percentile(times, 95)),
        statistics.fmean(times),
    )
    columns_b = pool.columns.nbytes / n
    models_b = (models.intercepts.nbytes + models.weights.nbytes) / n
    cores, hours, worker_memory = phase3_budget(args.resource)
    budget_core_s = cores * hours * SECONDS_PER_HOUR
    night_core_s = mean * args.night_viewers
    mode = "worst case (every filter passes)" if args.worst_case else "realistic filters"
    print(
        f"{n} profiles in one pool, {mode}; built in {build_s:.0f} s "
        f"({build_s / n * 1e6:.0f} us/profile)"
    )
    print(
        f"top-{TOP_K} for one viewer over {len(times)} viewers: median {med * 1e3:.1f} ms, "
        f"p95 {p95 * 1e3:.1f} ms, mean {mean * 1e3:.1f} ms"
    )
    print(
        f"memory per profile: columns {columns_b:.0f} B, models {models_b:.0f} B; "
        f"{n} profiles = {(columns_b + models_b) * n / BYTES_PER_MIB:.0f} MiB of a "
        f"{worker_memory / BYTES_PER_MIB:.0f} MiB phase-3 worker"
    )
    print(
        f"nightly pass over {args.night_viewers} viewers: {night_core_s / SECONDS_PER_HOUR:.1f} "
        f"core-hours projected; budget of {args.resource.name}: {cores:.1f} cores x {hours:.1f} h "
        f"= {budget_core_s / SECONDS_PER_HOUR:.0f} core-hours "
        f"({night_core_s / budget_core_s:.1%} of it; wall time at {cores:.0f} cores "
        f"{night_core_s / cores / SECONDS_PER_HOUR:.2f} h)"
    )
    print(
        f"without a shared pool (rows loaded per viewer): {eligible:.0f} eligible per viewer, "
        f"their columns alone {per_viewer_load_s * 1e3:.0f} ms a viewer, "
        f"{per_viewer_load_s * args.night_viewers / SECONDS_PER_HOUR:.0f} core-hours a night "
        "(a lower bound: before SQL and row decoding)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Matcher speed on one core.")
    parser.add_argument("--candidates", type=int, default=DEFAULT_CANDIDATES)
    parser.add_argument("--users", type=int, default=DEFAULT_USERS)
    parser.add_argument("--single", type=int, default=DEFAULT_SINGLE)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--worst-case", action="store_true")
    parser.add_argument("--pool-size", type=int, default=0, help="profiles; 0: the classic run")
    parser.add_argument("--night-viewers", type=int, default=DEFAULT_NIGHT_VIEWERS)
    parser.add_argument("--resource", type=Path, default=DEFAULT_RESOURCE)
    args = parser.parse_args()
    if args.pool_size:
        pool_benchmark(args)
        return
    rng = np.random.default_rng(args.seed)
    n, now = args.candidates, NOW.timestamp()

    start = time.perf_counter()
    vocabulary = MatchVocabulary(GENDERS, INTERESTS, VALUES, STYLE, TOPICS)
    pool = CandidatePool.from_profiles(synthetic_profiles(n, rng, args.worst_case), vocabulary)
    log = synthetic_log(n, rng) if not args.worst_case else InteractionLog.empty()
    pairs = rng.integers(0, n, size=(int(n * BLOCKS_PER_USER), 2))
    blocks = BlockGraph(pairs[:, 0], pairs[:, 1])
    reputation = Reputation.from_log(log, n)
    prior = prior_model()
    models = ModelTable(
        np.full(n, prior.intercept) + rng.normal(0, 0.5, n),
        prior.weights + rng.normal(0, 0.2, (n, prior.weights.shape[0])),
    )
    ctx = MatchContext(pool, models, reputation, log, blocks)
    setup = time.perf_counter() - start

    viewers = daily_order(np.arange(n, dtype=np.int64), day=0)
    interests = pool.columns.interests.astype(np.float32)  # BLAS needs floats; built untimed

    def dot_top_k(v: int) -> None:
        s = interests @ interests[v]
        best = np.argpartition(-s, TOP_K)[:TOP_K]
        best[np.argsort(-s[best])]

    # Ours and the baseline alternate viewer by viewer, so load from other work on a
    # shared machine hits both alike.
    single = viewers[: args.single]
    ours, base = [], []
    for v in single:
        ours.append(timed(rank_for_viewer, ctx, int(v), now, TOP_K))
        base.append(timed(dot_top_k, int(v)))
    sizes = [len(rank_for_viewer(ctx, int(v), now, TOP_K)) for v in single[:20]]

    # The batch as workers serve it, timed per viewer (one ledger, the daily order).
    batch = viewers[: args.users]
    ledger = ExposureLedger.fresh(n)
    per_user, base_per_user = [], []
    for v in batch:
        per_user.append(timed(rank_for_viewer, ctx, int(v), now, TOP_K, ledger))
        base_per_user.append(timed(dot_top_k, int(v)))
    batch_s = sum(per_user)

    med, base_med = statistics.median(ours), statistics.median(base)
    mode = "worst case (every filter passes)" if args.worst_case else "realistic filters"
    print(f"{n} candidates, {mode}; setup (pool, log, models) {setup:.1f} s")
    print(
        f"one user, median of {len(single)}: {med * 1e3:.1f} ms "
        f"(p90 {np.percentile(ours, 90) * 1e3:.1f} ms); "
        f"baseline dot-product top-k {base_med * 1e3:.2f} ms; ratio {med / base_med:.1f}x"
    )
    print(f"  matches returned per user (first 20): min {min(sizes)}, max {max(sizes)}")
    batch_med, base_batch_med = statistics.median(per_user), statistics.median(base_per_user)
    print(
        f"top-{TOP_K} for {len(batch)} users: {batch_s:.1f} s in ranking; per user median "
        f"{batch_med * 1e3:.1f} ms (p90 {np.percentile(per_user, 90) * 1e3:.1f} ms); baseline "
        f"{base_batch_med * 1e3:.2f} ms; ratio {batch_med / base_batch_med:.1f}x; "
        f"max exposure {int(ledger.counts.max())} (cap {ledger.cap})"
    )


if __name__ == "__main__":
    main()
