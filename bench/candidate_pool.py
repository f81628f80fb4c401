"""Phase 3's shared candidate pool against real PostgreSQL: load, refresh, per viewer.

Seeds `--members` members in a migrated embedded PostgreSQL with one INSERT ... SELECT
over generate_series (two genders seeking each other, five cities 30-80 km apart, 10-150
km limits, ages 20-50 with ranges around one's own, four of 12 interests each) and
`--decisions` likes or skips per member on random others, plus a few reports and
messages. Then prints: the pool's load time and memory per profile; `load_standing`,
`decisions_given` and `reputation_counts` over every member (the pool's load does them
once); a refresh after `--changed` profiles were saved and as many decisions made; and,
for `--viewers` viewers, one phase-3 ranking from the pool, and for the first
`--sql-viewers` of them also the uncapped SQL path (`load_inputs(cap=None)` + `rank`)
in the same run, medians and their ratio; and the nightly pass over `--night-viewers`
viewers projected against the phase-3 budget of `--resource`.

Run: .venv/bin/python -P bench/candidate_pool.py [--members 50000] [--viewers 20]
[--sql-viewers 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import machine, servers
from matcher import DEFAULT_RESOURCE, phase3_budget

from eros.core.candidate_pool import load_pool, rank_in_pool, refresh_pool
from eros.core.database import connect
from eros.core.matching import FilterRules
from eros.core.recommendation_inputs import decisions_given, load_inputs, rank, reputation_counts
from eros.core.redis_client import async_redis
from eros.core.settings import Settings
from eros.core.standing import load_standing

NOW = datetime(2026, 12, 7, 2, tzinfo=UTC)
DAILY_POOL = 50
SECONDS_PER_HOUR = 3600.0
T = TypeVar("T")

_SEED_SQL = """
INSERT INTO users (id, email, password_hash, name, created_at)
SELECT gen_random_uuid(), 'member' || n || '@example.com', 'x', 'x',
       %(now)s - (n %% 400) * interval '1 day'
FROM generate_series(1, %(members)s) n;

CREATE TEMP TABLE seeded AS
SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM users;

INSERT INTO profiles (user_id, display_name, birth_date, gender, genders_sought, age_min,
    age_max, latitude, longitude, city, max_distance_km, interest_scores, created_at, updated_at)
SELECT s.id, 'Member', date '1976-01-01' + ((s.n * 7919) %% 10950) * interval '1 day',
       CASE WHEN s.n %% 2 = 0 THEN 'woman' ELSE 'man' END,
       CASE WHEN s.n %% 2 = 0 THEN ARRAY['man'] ELSE ARRAY['woman'] END,
       greatest(18, 20 + (s.n * 13) %% 30 - 6), least(99, 20 + (s.n * 13) %% 30 + 8),
       48.0 + (s.n %% 5) * 0.5 + ((s.n * 31) %% 1000) / 5000.0,
       11.0 + (s.n %% 5) * 0.6 + ((s.n * 37) %% 1000) / 5000.0,
       'city' || s.n %% 5, 10 + (s.n * 17) %% 140,
       (SELECT jsonb_object_agg(k, (s.n * (i + 3)) %% 101) FROM unnest(
           ARRAY[('{hiking,jazz,chess,cooking,film,running,poetry,sailing,yoga,games,art,travel}'
                  ::text[])[1 + s.n %% 12],
                 ('{hiking,jazz,chess,cooking,film,running,poetry,sailing,yoga,games,art,travel}'
                  ::text[])[1 + (s.n / 12) %% 12]]) WITH ORDINALITY AS t(k, i)),
       %(now)s - (s.n %% 400) * interval '1 day', %(now)s - (s.n %% 20) * interval '1 hour'
FROM seeded s;

INSERT INTO interactions (actor_id, target_id, kind, occurred_at, source)
SELECT a.id, b.id, CASE WHEN (a.n + d) %% 3 = 0 THEN 'like' ELSE 'skip' END,
       %(now)s - ((a.n + d) %% 30) * interval '1 day', 'batch'
FROM seeded a CROSS JOIN generate_series(1, %(decisions)s) d
JOIN seeded b ON b.n = 1 + (a.n * 7 + d * 104729) %% %(members)s
WHERE a.id <> b.id;

INSERT INTO interactions (actor_id, target_id, kind, occurred_at, source)
SELECT a.id, b.id, 'message_sent', %(now)s - (a.n %% 20) * interval '1 day', 'batch'
FROM seeded a JOIN seeded b ON b.n = 1 + (a.n * 11) %% %(members)s
WHERE a.n %% 10 = 0 AND a.id <> b.id;

INSERT INTO reports (id, reporter_id, reported_id, reason, severity, created_at)
SELECT gen_random_uuid(), a.id, b.id, 'spam', 'low', %(now)s - interval '2 days'
FROM seeded a JOIN seeded b ON b.n = 1 + (a.n * 13) %% %(members)s
WHERE a.n %% 200 = 0 AND a.id <> b.id;
"""


def seed_city(db: psycopg.Connection[Any], members: int, decisions: int) -> None:
    """The city of this module's docstring, in a migrated database, then ANALYZE."""
    for statement in _SEED_SQL.split(";\n"):
        if statement.strip():
            db.execute(statement, {"now": NOW, "members": members, "decisions": decisions})
    db.execute("ANALYZE")


def _median_p95(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


async def _timed(work: Awaitable[T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = await work
    return result, time.perf_counter() - started


async def _run(args: argparse.Namespace, redis_url: str, database_url: str) -> None:
    settings = Settings(redis_url=redis_url, database_url=database_url, _env_file=None)
    started = time.perf_counter()
    with psycopg.connect(database_url, autocommit=True) as db:
        seed_city(db, args.members, args.decisions)
        rows = db.execute(
            "SELECT user_id FROM profiles WHERE gender = 'woman' ORDER BY user_id LIMIT %s",
            (args.viewers,),
        ).fetchall()
        viewers: list[UUID] = [r[0] for r in rows]
        interactions = db.execute("SELECT count(*) FROM interactions").fetchone()
    print(f"Candidate pool against PostgreSQL ({machine()})")
    print(
        f"  seeded {args.members:,} members and {interactions[0] if interactions else 0:,} "
        f"interactions in {time.perf_counter() - started:.1f} s"
    )
    redis = async_redis(redis_url)
    rules = FilterRules()
    try:
        async with await connect(settings) as conn:
            shared, load_s = await _timed(load_pool(conn, redis, NOW))
            n = len(shared)
            print(
                f"  pool load: {load_s:.2f} s ({load_s / n * 1e6:.0f} us/profile); memory "
                f"{shared.nbytes / n:.0f} B/profile of arrays "
                f"(columns {shared.pool.columns.nbytes / n:.0f} B), "
                f"{shared.nbytes / 2**20:.1f} MiB in all (ids and standing facts aside)"
            )
            ids = list(shared.pool.user_ids)
            _, standing_s = await _timed(load_standing(conn, ids, NOW))
            _, given_s = await _timed(decisions_given(conn, ids))
            _, given_all_s = await _timed(decisions_given(conn, None))
            _, received_all_s = await _timed(reputation_counts(conn, None))
            print(
                f"  over all members: load_standing {standing_s:.2f} s; decisions_given "
                f"{given_s:.2f} s by id array, {given_all_s:.2f} s as one scan; "
                f"reputation_counts {received_all_s:.2f} s as one scan"
            )

            later = NOW + timedelta(minutes=5)
            await conn.execute(
                "UPDATE profiles SET updated_at = %s WHERE user_id IN "
                "(SELECT user_id FROM profiles ORDER BY user_id DESC LIMIT %s)",
                (later, args.changed),
            )
            await conn.execute(
                "INSERT INTO interactions (actor_id, target_id, kind, occurred_at, source) "
                "SELECT a.user_id, b.user_id, 'like', %s, 'batch' FROM "
                "(SELECT user_id, row_number() OVER (ORDER BY user_id) r FROM profiles "
                " LIMIT %s) a JOIN (SELECT user_id, row_number() OVER (ORDER BY user_id DESC) r "
                " FROM profiles LIMIT %s) b ON a.r = b.r WHERE a.user_id <> b.user_id",
                (later, args.changed, args.changed),
            )
            shared, refresh_s = await _timed(refresh_pool(conn, redis, shared, later))
            _, idle_refresh_s = await _timed(refresh_pool(conn, redis, shared, later))
            print(
                f"  refresh after {args.changed:,} profiles saved and {args.changed:,} likes: "
                f"{refresh_s:.2f} s; with nothing changed (overlap re-reads only): "
                f"{idle_refresh_s:.2f} s"
            )

            pool_s: list[float] = []
            sql_s: list[float] = []
            same = loaded = 0
            for i, viewer in enumerate(viewers):
                ranked, elapsed = await _timed(
                    rank_in_pool(conn, shared, viewer, later, DAILY_POOL, rules)
                )
                pool_s.append(elapsed)
                if i >= args.sql_viewers:
                    continue
                started = time.perf_counter()
                inputs = await load_inputs(conn, redis, viewer, later, rules, cap=None)
                assert inputs is not None and ranked is not None
                from_sql = await asyncio.to_thread(rank, inputs, later, DAILY_POOL, rules)
                sql_s.append(time.perf_counter() - started)
                same += [m.user_id for m in ranked[:10]] == [m.user_id for m in from_sql[:10]]
                loaded = len(inputs.profiles)
    finally:
        await redis.aclose()
    pool_median, pool_p95 = _median_p95(pool_s)
    sql_median, sql_p95 = _median_p95(sql_s)
    print(
        f"  per viewer: pool median {pool_median * 1000:.1f} ms (p95 {pool_p95 * 1000:.1f}, "
        f"{len(pool_s)} viewers); uncapped SQL path median {sql_median * 1000:.1f} ms "
        f"(p95 {sql_p95 * 1000:.1f}, {len(sql_s)} viewers, the last loaded {loaded:,} rows); "
        f"ratio SQL / pool {sql_median / pool_median:.1f}; same top 10 for {same}/{len(sql_s)}"
    )
    cores, hours, _ = phase3_budget(args.resource)
    budget = cores * hours
    for name, median in (("pool", pool_median), ("uncapped SQL", sql_median)):
        night = median * args.night_viewers / SECONDS_PER_HOUR
        print(
            f"  nightly pass, {args.night_viewers:,} viewers, {name}: {night:.1f} core-hours "
            f"({night / budget:.1%} of {args.resource.name}'s {budget:.0f} core-hours)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=50_000, help="Members seeded.")
    parser.add_argument("--decisions", type=int, default=10, help="Decisions per member.")
    parser.add_argument("--viewers", type=int, default=20, help="Viewers ranked from the pool.")
    parser.add_argument("--sql-viewers", type=int, default=3, help="Of them, also from SQL.")
    parser.add_argument("--changed", type=int, default=1000, help="Rows changed before refresh.")
    parser.add_argument("--night-viewers", type=int, default=100_000)
    parser.add_argument("--resource", type=Path, default=DEFAULT_RESOURCE)
    args = parser.parse_args()
    with servers("eros-bench-candidate-pool-") as running:
        asyncio.run(_run(args, running.redis_url, running.database_url))


if __name__ == "__main__":
    main()
