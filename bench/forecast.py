"""The cost per tick of predictive pre-scaling with 1,000,000 users in the activity index.

Seeds the index (idle ages spread over a day), then times what the operator adds to a
tick when `spec.predictive.enabled`: the returns learned from the bucket counts, the
score-range read of the users due to cross, and the forecast. Prints the figures.

    .venv/bin/python -P bench/forecast.py [--users N] [--redis-url URL]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import redis

from eros.core.activity import ACTIVITY_KEY
from eros.operator.forecast import ReturnModel, expected_crossings
from eros.operator.forecast_source import CrossingForecaster, read_due_idle_ages

THRESHOLDS = [600, 1800, 3600]
HORIZON_SECONDS = 20
SEED_BATCH = 50_000
ROUNDS = 20
DAY_SECONDS = 86_400


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--redis-url", default="redis://localhost:6379/0")
    args = parser.parse_args()
    client = redis.Redis.from_url(args.redis_url)
    now_ms = int(time.time() * 1000)
    rng = np.random.default_rng(1)
    ages_ms = rng.uniform(0, DAY_SECONDS * 1000, args.users).astype(np.int64)
    client.delete(ACTIVITY_KEY)
    for start in range(0, args.users, SEED_BATCH):
        batch = ages_ms[start : start + SEED_BATCH]
        client.zadd(ACTIVITY_KEY, {rng.bytes(16): int(now_ms - a) for a in batch})
    forecaster = CrossingForecaster("bench/forecast")
    learn, read, forecast = [], [], []
    model = ReturnModel.prior()
    due = np.empty(0)
    for i in range(ROUNDS):
        at = now_ms + i * 5000
        t0 = time.perf_counter()
        model = forecaster.learn(client, at, hour=12)
        t1 = time.perf_counter()
        due = read_due_idle_ages(client, THRESHOLDS, HORIZON_SECONDS, at)
        t2 = time.perf_counter()
        expected_crossings(due, THRESHOLDS, HORIZON_SECONDS, model, 12)
        t3 = time.perf_counter()
        learn.append(t1 - t0)
        read.append(t2 - t1)
        forecast.append(t3 - t2)
    everyone = (now_ms - ages_ms) / 1000.0
    t0 = time.perf_counter()
    expected_crossings(everyone, THRESHOLDS, HORIZON_SECONDS, model, 12)
    whole = time.perf_counter() - t0
    print(f"users in the index: {args.users:,}; users due within {HORIZON_SECONDS} s: {due.size:,}")
    print(f"learn returns (bucket ZCOUNTs + model): median {statistics.median(learn) * 1e3:.2f} ms")
    print(f"score-range read (ZRANGEBYSCORE x3):    median {statistics.median(read) * 1e3:.2f} ms")
    print(
        f"forecast of the due users:              median {statistics.median(forecast) * 1e3:.3f} ms"
    )
    print(f"forecast over all {args.users:,} idle ages:  {whole * 1e3:.1f} ms")
    client.delete(ACTIVITY_KEY)


if __name__ == "__main__":
    main()
