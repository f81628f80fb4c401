"""The console's history: one sample a minute of the loop's figures, kept in Redis.

The active scheduler writes it (`Scheduler.tick`): it ticks every second whether or not
anyone watches, holds a lease so exactly one process writes, and follows the injected
clock. Each sample is one member of a sorted set (score = the minute's start, epoch ms),
so a takeover that samples a minute again replaces it, and trimming to the retention is
one ZREMRANGEBYSCORE.

A sample holds, as at the minute's first tick: users per phase (index 0 = active),
queued and running jobs per phase, the operator's desired and ready workers per phase
(from its last plan, `eros.pipeline.operator_plan`), and over the previous whole minute:
the halts (from the recent-halts list) and the nearest-rank percentiles of running jobs'
halt latencies (recorded by workers; a queued job's halt is done within the heartbeat's
own round trip, so it has no latency worth a chart).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, cast

import redis
import redis.asyncio as aredis

from eros.core.activity import count_users_per_phase
from eros.core.clock import MS_PER_SECOND
from eros.core.keys import (
    HALT_LATENCIES_KEY,
    HISTORY_KEY,
    OPERATOR_PLAN_KEY,
    RECENT_HALTS_KEY,
)
from eros.core.phase_config import PhaseConfig
from eros.pipeline.halt import RECENT_HALTS_MAX
from eros.pipeline.operator_plan import parse_plan
from eros.pipeline.queue import queue_loads

logger = logging.getLogger(__name__)

MS_PER_MINUTE = 60 * MS_PER_SECOND
# Workers record each halted running job's latency here; a minute of halts beyond this
# cap is summarised from the newest ones.
HALT_LATENCIES_MAX = 1000
PERCENTILES = (50, 95, 99)


def minute_of(now_ms: int) -> int:
    """The start of the minute holding `now_ms`, epoch ms."""
    return now_ms - now_ms % MS_PER_MINUTE


def percentile(values: Sequence[float], p: int) -> float | None:
    """The nearest-rank `p`th percentile of `values`; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class Sample:
    at_ms: int  # the minute's start
    users: list[int]  # per phase, index 0 = active
    queued: list[int]  # per idle phase (1, 2, 3)
    running: list[int]
    desired: list[int] | None  # the operator's plan, None while no operator publishes one
    ready: list[int] | None
    halts: int  # in the previous whole minute
    halt_latency_ms: dict[str, float | None]  # "p50", "p95", "p99" of running jobs' halts

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))


def parse_sample(raw: bytes | str) -> Sample | None:
    try:
        return Sample(**json.loads(raw))
    except (ValueError, TypeError):
        return None


def _records_within(raw: list[Any], since_ms: int, until_ms: int) -> list[dict[str, Any]]:
    """The JSON records of `raw` whose `at` is in [since_ms, until_ms)."""
    found = []
    for item in raw:
        try:
            record = json.loads(item)
            at = int(record["at"])
        except (ValueError, KeyError, TypeError):
            continue
        if since_ms <= at < until_ms:
            found.append(record)
    return found


def take_sample(client: redis.Redis, config: PhaseConfig, now_ms: int) -> Sample:
    """The figures of the minute holding `now_ms`, read in three round trips."""
    users = count_users_per_phase(client, config.idle_seconds, now_ms)
    loads = queue_loads(client, config.queues, now_ms / MS_PER_SECOND)
    with client.pipeline(transaction=False) as pipe:
        pipe.lrange(RECENT_HALTS_KEY, 0, RECENT_HALTS_MAX - 1)
        pipe.lrange(HALT_LATENCIES_KEY, 0, HALT_LATENCIES_MAX - 1)
        pipe.get(OPERATOR_PLAN_KEY)
        raw_halts, raw_latencies, raw_plan = pipe.execute()
    # Halts are counted over the previous whole minute, so no halt counts twice.
    minute = minute_of(now_ms)
    since = minute - MS_PER_MINUTE
    latencies = [
        float(record["ms"])
        for record in _records_within(raw_latencies, since, minute)
        if isinstance(record.get("ms"), int | float)
    ]
    plan = parse_plan(raw_plan)
    return Sample(
        at_ms=minute,
        users=users,
        queued=[queued for queued, _ in loads],
        running=[running for _, running in loads],
        desired=None if plan is None else [phase.desired for phase in plan.phases],
        ready=None if plan is None else [phase.ready for phase in plan.phases],
        halts=len(_records_within(raw_halts, since, minute)),
        halt_latency_ms={f"p{p}": percentile(latencies, p) for p in PERCENTILES},
    )


def record_sample(client: redis.Redis, sample: Sample, retention_minutes: int) -> None:
    """Store `sample` as its minute's (replacing one taken before) and drop the expired."""
    horizon = sample.at_ms - retention_minutes * MS_PER_MINUTE
    with client.pipeline(transaction=True) as pipe:
        pipe.zremrangebyscore(HISTORY_KEY, sample.at_ms, sample.at_ms)
        pipe.zadd(HISTORY_KEY, {sample.to_json(): sample.at_ms})
        pipe.zremrangebyscore(HISTORY_KEY, "-inf", f"({horizon}")
        pipe.execute()


def record_halt_latency(pipe: Any, stopped_at_ms: int, latency_ms: int) -> None:
    """Add a running job's halt latency to a worker's pipeline, for the next sample."""
    entry = json.dumps({"at": stopped_at_ms, "ms": latency_ms}, separators=(",", ":"))
    pipe.lpush(HALT_LATENCIES_KEY, entry)
    pipe.ltrim(HALT_LATENCIES_KEY, 0, HALT_LATENCIES_MAX - 1)


class HistorySampler:
    """Samples once per minute of the scheduler's clock; a new leader samples at once."""

    def __init__(self, client: redis.Redis, retention_minutes: int) -> None:
        self._client = client
        self._retention_minutes = retention_minutes
        self._last_minute: int | None = None

    def maybe_sample(self, config: PhaseConfig, now_ms: int) -> bool:
        """Take and store this minute's sample unless this process already did."""
        minute = minute_of(now_ms)
        if minute == self._last_minute:
            return False
        try:
            record_sample(
                self._client, take_sample(self._client, config, now_ms), self._retention_minutes
            )
        except redis.RedisError:
            logger.warning("Could not record the console's history sample; Redis is unavailable.")
            return False
        self._last_minute = minute
        return True

    def forget(self) -> None:
        """Lost the lease: the next leadership samples its first minute at once."""
        self._last_minute = None


async def read_history(client: aredis.Redis, since_ms: int) -> list[Sample]:
    """The samples of the minutes starting at or after `since_ms`, oldest first."""
    raw = cast(list[bytes], await client.zrangebyscore(HISTORY_KEY, since_ms, "+inf"))
    return [sample for item in raw if (sample := parse_sample(item)) is not None]
