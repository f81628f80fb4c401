"""The pipeline at a glance, for `GET /api/v1/eros/status`: who schedules, how far behind,
what is queued and running, which workers serve each phase, the latest halts, and which
phase configuration every component follows."""

from __future__ import annotations

import json
from dataclasses import dataclass

import redis.asyncio as aredis

from eros.core.clock import MS_PER_SECOND
from eros.core.keys import (
    PHASE_CONFIG_FOLLOWERS_KEY,
    RECENT_HALTS_KEY,
    SCHEDULER_LEASE_KEY,
    SCHEDULER_STATE_KEY,
    SCHEDULER_WATERMARKS_KEY,
)
from eros.core.phase_config import Follower, PhaseConfig, parse_followers
from eros.core.phases import Phase
from eros.pipeline.queue import JobKey, queue_load_commands
from eros.pipeline.rq_internals import workers_key

RECENT_HALTS_SHOWN = 20


@dataclass(frozen=True, slots=True)
class SchedulerView:
    leader: str | None
    lease_expires_in_ms: int | None
    last_tick_at_ms: int | None
    last_tick_seconds: float | None


@dataclass(frozen=True, slots=True)
class PhaseView:
    phase: int
    queue: str
    queued: int
    running: int
    workers: int
    watermark_ms: int | None
    lag_ms: int | None
    off_peak: str | None
    in_window: bool


@dataclass(frozen=True, slots=True)
class HaltView:
    job_id: str
    user_id: str | None
    phase: int | None
    state: str
    received_at_ms: int


@dataclass(frozen=True, slots=True)
class PipelineStatus:
    scheduler: SchedulerView
    phases: list[PhaseView]
    recent_halts: list[HaltView]
    config: PhaseConfig  # the one the reader follows
    followers: list[Follower]  # every component, and the generation it follows


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def _halt(raw: bytes) -> HaltView | None:
    try:
        record = json.loads(raw)
        job_id = str(record["job"])
        key = JobKey.parse(job_id)
        return HaltView(
            job_id=job_id,
            user_id=str(key.user_id) if key else None,
            phase=int(key.phase) if key else None,
            state=str(record["state"]),
            received_at_ms=int(record["at"]),
        )
    except (ValueError, KeyError, TypeError):
        return None


async def read_status(
    client: aredis.Redis, config: PhaseConfig, now_ms: int, *, halts: int = RECENT_HALTS_SHOWN
) -> PipelineStatus:
    """The pipeline as the components following `config` see it."""
    phases = [phase for phase in Phase if phase is not Phase.ACTIVE]
    now_s = now_ms / MS_PER_SECOND
    async with client.pipeline(transaction=False) as pipe:
        pipe.get(SCHEDULER_LEASE_KEY)
        pipe.pttl(SCHEDULER_LEASE_KEY)
        pipe.hgetall(SCHEDULER_STATE_KEY)
        pipe.hgetall(SCHEDULER_WATERMARKS_KEY)
        pipe.lrange(RECENT_HALTS_KEY, 0, halts - 1)
        pipe.hgetall(PHASE_CONFIG_FOLLOWERS_KEY)
        for phase in phases:
            name = config.queue(phase)
            queue_load_commands(pipe, name, now_s)
            pipe.smembers(workers_key(name))
        results = await pipe.execute()
    leader, pttl, state, raw_watermarks, raw_halts, raw_followers = results[:6]
    per_phase = [results[6 + 3 * i : 9 + 3 * i] for i in range(len(phases))]
    # RQ's worker sets outlive crashed workers; a worker is alive while its key exists.
    async with client.pipeline(transaction=False) as pipe:
        for _, _, members in per_phase:
            for member in members:
                pipe.exists(member)
        alive = iter(await pipe.execute())
    live_workers = [sum(bool(next(alive)) for _ in members) for _, _, members in per_phase]

    state = {_text(k): _text(v) for k, v in state.items()}
    watermarks = {int(k): int(v) for k, v in raw_watermarks.items()}
    views = []
    for i, phase in enumerate(phases):
        queued, running, _ = per_phase[i]
        window = config.window(phase)
        watermark = watermarks.get(int(phase))
        views.append(
            PhaseView(
                phase=int(phase),
                queue=config.queue(phase),
                queued=int(queued),
                running=int(running),
                workers=live_workers[i],
                watermark_ms=watermark,
                lag_ms=None if watermark is None else max(0, now_ms - watermark),
                off_peak=None if window is None else str(window),
                in_window=config.in_window(phase, now_ms),
            )
        )
    tick_at = state.get("tickAtMs")
    tick_seconds = state.get("tickSeconds")
    return PipelineStatus(
        scheduler=SchedulerView(
            leader=_text(leader),
            lease_expires_in_ms=int(pttl) if leader is not None and int(pttl) >= 0 else None,
            last_tick_at_ms=int(tick_at) if tick_at else None,
            last_tick_seconds=float(tick_seconds) if tick_seconds else None,
        ),
        phases=views,
        recent_halts=[view for raw in raw_halts if (view := _halt(raw)) is not None],
        config=config,
        followers=parse_followers(raw_followers, now_ms),
    )
