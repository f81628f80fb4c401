"""Recommendations on a cache miss: the API's bounded ranking against the full one.

Seeds one viewer and `--members` eligible members in a migrated embedded PostgreSQL
(copies of one profile, saved at different times, so SQL's pre-filter passes them all),
then times what a request costs on a miss, `load_inputs` + `rank`, with the API's cap
(`EROS_RECOMMENDATIONS_CHEAP_CANDIDATE_CAP`) and with the workers' full computation
(no cap), alternating, `--rounds` times each. Prints medians, p95 and their ratio.

Run: .venv/bin/python -P bench/recommendations.py [--members 5000] [--rounds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import machine, servers

from eros.core.database import connect
from eros.core.matching import FilterRules
from eros.core.profiles import Gender, Profile, save_profile
from eros.core.recommendation_inputs import load_inputs, rank
from eros.core.redis_client import async_redis
from eros.core.settings import Settings

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
TOP_K = 50
PERCENTILE_95 = 0.95


def _person(gender: Gender, seeks: Gender, interests: dict[str, int]) -> Profile:
    return Profile(
        user_id=uuid4(),
        display_name="Member",
        birth_date=date(1994, 5, 1),
        gender=gender,
        genders_sought=(seeks,),
        latitude=52.52,
        longitude=13.405,
        city="Berlin",
        max_distance_km=50,
        interests=interests,
    )


async def _seed(settings: Settings, members: int) -> UUID:
    viewer = _person(Gender.WOMAN, Gender.MAN, {"hiking": 90, "jazz": 70})
    template = _person(Gender.MAN, Gender.WOMAN, {"hiking": 60, "chess": 50})
    async with await connect(settings) as conn:
        for person in (viewer, template):
            await conn.execute(
                "INSERT INTO users (id, email, password_hash, name) VALUES (%s, %s, 'x', 'x')",
                (person.user_id, f"{person.user_id}@example.com"),
            )
            await save_profile(conn, person, NOW - timedelta(days=1))
    assert settings.database_url is not None
    with psycopg.connect(settings.database_url, autocommit=True) as db:
        columns = [
            row[0]
            for row in db.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = "
                "'profiles' AND column_name NOT IN ('user_id', 'updated_at') "
                "ORDER BY ordinal_position"
            )
        ]
        db.execute(
            "CREATE TEMP TABLE new_ids AS SELECT gen_random_uuid() AS id, n "
            "FROM generate_series(1, %s) n",
            (members - 1,),
        )
        db.execute(
            "INSERT INTO users (id, email, password_hash, name) "
            "SELECT id, id::text || '@example.com', 'x', 'x' FROM new_ids"
        )
        db.execute(
            f"INSERT INTO profiles (user_id, updated_at, {', '.join(columns)}) "
            "SELECT n.id, t.updated_at - n.n * interval '1 minute', "
            f"{', '.join('t.' + c for c in columns)} "
            "FROM new_ids n CROSS JOIN profiles t WHERE t.user_id = %s",
            (template.user_id,),
        )
        db.execute("ANALYZE")
    return viewer.user_id


async def _miss_ms(settings: Settings, viewer: UUID, cap: int | None) -> tuple[float, int]:
    redis = async_redis(settings.redis_url or "")
    try:
        async with await connect(settings) as conn:
            started = time.perf_counter()
            inputs = await load_inputs(conn, redis, viewer, NOW, FilterRules(), cap=cap)
            assert inputs is not None
            rank(inputs, NOW, TOP_K, FilterRules())
            return (time.perf_counter() - started) * 1000, len(inputs.profiles)
    finally:
        await redis.aclose()


def _summary(name: str, timings: list[float], profiles: int) -> float:
    median = statistics.median(timings)
    p95 = sorted(timings)[min(len(timings) - 1, int(PERCENTILE_95 * len(timings)))]
    print(f"  {name}: {profiles:,} profiles, median {median:.1f} ms, p95 {p95:.1f} ms")
    return median


async def _run(args: argparse.Namespace, redis_url: str, database_url: str) -> None:
    settings = Settings(redis_url=redis_url, database_url=database_url, _env_file=None)
    viewer = await _seed(settings, args.members)
    cap = settings.recommendations_cheap_candidate_cap
    cheap: list[float] = []
    full: list[float] = []
    sizes = {"cheap": 0, "full": 0}
    await _miss_ms(settings, viewer, None)  # warm caches and the planner
    for _ in range(args.rounds):
        elapsed, sizes["cheap"] = await _miss_ms(settings, viewer, cap)
        cheap.append(elapsed)
        elapsed, sizes["full"] = await _miss_ms(settings, viewer, None)
        full.append(elapsed)
    print(f"Recommendations on a cache miss ({machine()}), {args.members:,} eligible members:")
    cheap_median = _summary(f"API's bounded ranking (cap {cap})", cheap, sizes["cheap"])
    full_median = _summary("workers' full computation (no cap)", full, sizes["full"])
    print(f"  ratio of medians, bounded / full: {cheap_median / full_median:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=5000, help="Eligible members seeded.")
    parser.add_argument("--rounds", type=int, default=15, help="Timed misses of each kind.")
    args = parser.parse_args()
    with servers("eros-bench-recommendations-") as running:
        asyncio.run(_run(args, running.redis_url, running.database_url))


if __name__ == "__main__":
    main()
