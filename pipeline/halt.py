"""Halting a user's jobs when they come back: one Redis round trip, from the heartbeat.

One Lua script takes the user's whole job index and, per job:
- queued (or waiting for a retry): removes it from its queue and marks it `canceled`;
- already dequeued but not started: leaves it to the job's start guard;
- running: publishes RQ's own `stop-job` command to its worker, exactly the message
  `rq.command.send_stop_job_command` sends, without that function's extra round trip.
Every halted job also gets a halt flag (`eros:halt:<id>`, the heartbeat's arrival time),
which the running job polls for in case the pub/sub message is lost, and an entry in the
recent-halts list. The checkpoint stays, for the user's next idle period. The script's
decision per job is stated in Python too, for `eros simulate`
(`eros.pipeline.rules.halt_actions`); tests/pipeline/test_rules.py keeps them equal.

The script touches keys it derives from job ids, so it needs a standalone Redis or Valkey
(as RQ itself does), not a cluster.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import redis
import redis.asyncio as aredis
from prometheus_client import Counter, Histogram

from eros.core.clock import MS_PER_SECOND, Clock, SystemClock
from eros.core.keys import HALT_PREFIX, RECENT_HALTS_KEY, user_jobs_key
from eros.core.settings import Settings
from eros.pipeline import metrics
from eros.pipeline.queue import JobKey
from eros.pipeline.rq_internals import (
    COMMAND_CHANNEL_TEMPLATE,
    JOB_KEY_PREFIX,
    queue_key,
    scheduled_key,
    timestamp,
)

logger = logging.getLogger(__name__)

RECENT_HALTS_MAX = 200

# KEYS[1]: the user's job index.
# ARGV: received at (epoch ms), halted-job TTL (s), ended-at (RQ's time format), job key
# prefix, queue key prefix, scheduled-registry key prefix, pub/sub channel prefix, halt
# flag prefix, recent-halts key, recent-halts cap.
# Returns a flat list: job id, state ("queued", "starting" or "running"), ...
_HALT_SCRIPT = """
local ids = redis.call('SMEMBERS', KEYS[1])
if #ids == 0 then return {} end
redis.call('DEL', KEYS[1])
local received, ttl = ARGV[1], tonumber(ARGV[2])
local halted = {}
for _, id in ipairs(ids) do
  local job = ARGV[4] .. id
  local fields = redis.call('HMGET', job, 'status', 'origin', 'worker_name')
  local status, origin, worker = fields[1], fields[2], fields[3]
  local state = nil
  if status == 'queued' or status == 'scheduled' then
    local removed
    if status == 'queued' then
      removed = redis.call('LREM', ARGV[5] .. origin, -1, id)
    else
      removed = redis.call('ZREM', ARGV[6] .. origin, id)
    end
    if removed > 0 then
      redis.call('HSET', job, 'status', 'canceled', 'ended_at', ARGV[3])
      redis.call('EXPIRE', job, ttl)
      state = 'queued'
    else
      state = 'starting'
    end
  elseif status == 'started' then
    if worker and worker ~= '' then
      redis.call('PUBLISH', ARGV[7] .. worker,
        '{"command":"stop-job","job_id":"' .. id .. '"}')
    end
    state = 'running'
  end
  if state then
    redis.call('SET', ARGV[8] .. id, received, 'EX', ttl)
    redis.call('LPUSH', ARGV[9],
      '{"job":"' .. id .. '","state":"' .. state .. '","at":' .. received .. '}')
    table.insert(halted, id)
    table.insert(halted, state)
  end
end
redis.call('LTRIM', ARGV[9], 0, tonumber(ARGV[10]) - 1)
return halted
"""


@dataclass(frozen=True, slots=True)
class HaltedJob:
    job_id: str
    state: str


def _args(settings: Settings, received_at_ms: int) -> list[Any]:
    ended_at = timestamp(datetime.fromtimestamp(received_at_ms / MS_PER_SECOND, tz=UTC))
    return [
        received_at_ms,
        settings.halted_job_ttl_seconds,
        ended_at,
        JOB_KEY_PREFIX,
        queue_key(""),
        scheduled_key(""),
        COMMAND_CHANNEL_TEMPLATE % "",
        HALT_PREFIX,
        RECENT_HALTS_KEY,
        RECENT_HALTS_MAX,
    ]


def _parse(raw: list[Any]) -> list[HaltedJob]:
    values = [item.decode() if isinstance(item, bytes) else str(item) for item in raw]
    return [HaltedJob(values[i], values[i + 1]) for i in range(0, len(values), 2)]


@dataclass(frozen=True, slots=True)
class HaltMetrics:
    """Where a halter counts the halts it requested, in its own process's series: both
    labelled by phase and state (queued, running)."""

    halted: Counter
    latency: Histogram


def _observe(
    halted: list[HaltedJob], received_at_ms: int, now_ms: int, counted: HaltMetrics
) -> None:
    for job in halted:
        key = JobKey.parse(job.job_id)
        phase = metrics.phase_label(key.phase) if key else "unknown"
        state = "running" if job.state == "running" else "queued"
        counted.halted.labels(phase, state).inc()
        if state == "queued":
            # A running job's latency ends when it stops; its worker observes that.
            latency = max(0, now_ms - received_at_ms) / MS_PER_SECOND
            counted.latency.labels(phase, state).observe(latency)


class RedisHalter:
    """The API's halter (`eros.api.halting.Halter`): asyncio, one round trip per halt,
    counted into `counted` (the API's own series)."""

    def __init__(
        self,
        client: aredis.Redis,
        settings: Settings,
        clock: Clock | None = None,
        *,
        counted: HaltMetrics,
    ):
        self._script = client.register_script(_HALT_SCRIPT)
        self._settings = settings
        self._clock = clock or SystemClock()
        self._counted = counted

    async def halt(self, user_id: UUID, received_at_ms: int) -> list[HaltedJob]:
        """Halt the user's queued and running jobs in one round trip; what was halted.
        Raises `redis.RedisError` when Redis is unavailable."""
        raw = await self._script(
            keys=[user_jobs_key(user_id)], args=_args(self._settings, received_at_ms)
        )
        halted = _parse(raw)
        if halted:
            _observe(halted, received_at_ms, self._clock.now_ms(), self._counted)
            logger.info("Halted %d jobs of a returning user.", len(halted))
        return halted

    async def halt_user(self, user_id: UUID, received_at_ms: int) -> int:
        try:
            return len(await self.halt(user_id, received_at_ms))
        except redis.RedisError:
            # The heartbeat itself was recorded; the jobs notice their user's activity by
            # polling within `halt_poll_seconds`, so the heartbeat need not fail.
            logger.warning("Could not halt a returning user's jobs; Redis is unavailable.")
            return 0
