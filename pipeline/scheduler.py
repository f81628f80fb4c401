"""`eros scheduler`: enqueues a job for every user who crossed a phase threshold.

A user active last at `a` crosses phase i's threshold `T_i` at `a + T_i`. Each tick, for
each phase (deepest first), the scheduler reads the users whose crossing fell in
(watermark, now] with one range query on the activity sorted set,
`a` in (watermark - T_i, now - T_i], in batches, and enqueues their jobs; then it moves
the phase's watermark to now. The watermarks live in Redis, so a restart, a slow tick or
a takeover resumes where the last one stopped; job ids are deterministic, so scanning a
window twice enqueues nothing twice. A lease keeps one scheduler active; standbys try to
take it every tick. A phase with an off-peak window is skipped outside it, its watermark
held, so the users who crossed meanwhile and are still idle get their jobs when it opens.
Thresholds, queues and windows are those the operator published from the ErosProcessing
(`eros.core.phase_config`), re-read every tick, so an edit of the resource applies from
the next tick on.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import FrameType
from typing import cast

import redis
from redis.typing import EncodableT, FieldT

from eros.core.clock import MS_PER_SECOND, Clock, SystemClock
from eros.core.keys import (
    ACTIVITY_KEY,
    SCHEDULER_LEASE_KEY,
    SCHEDULER_STATE_KEY,
    SCHEDULER_WATERMARKS_KEY,
)
from eros.core.phase_config import PhaseConfig, PhaseConfigFollower
from eros.core.phases import Phase
from eros.core.redis_client import sync_redis
from eros.core.settings import Settings
from eros.pipeline import metrics
from eros.pipeline.history import HistorySampler
from eros.pipeline.lease import Lease
from eros.pipeline.maintenance import enqueue_model_fit, enqueue_retention
from eros.pipeline.queue import Enqueuer
from eros.pipeline.recovery import recover_abandoned
from eros.pipeline.server import ProbeServer

logger = logging.getLogger(__name__)

DEEPEST_FIRST = (Phase.DEEP, Phase.MEDIUM, Phase.LIGHT)
# The status view shows the last tick; it goes stale if no scheduler runs at all.
STATE_TTL_SECONDS = 3600
# A tick turns every second and reports progress between batches; a minute without either
# means the loop is stuck.
LIVENESS_SECONDS = 60.0
# How often the active scheduler checks whether this interval's retention job is enqueued.
RETENTION_CHECK_SECONDS = 60.0
# Likewise for the population model's fit job (eros.pipeline.maintenance).
MODEL_FIT_CHECK_SECONDS = 60.0


class LeaseLost(Exception):
    """Another scheduler took over mid-tick; this one stops without moving a watermark."""


def crossing_bounds(watermark_ms: int, now_ms: int, threshold_s: int) -> tuple[int, int]:
    """Last-activity times (exclusive low, inclusive high) of users whose crossing of a
    `threshold_s` threshold happened in (watermark_ms, now_ms]."""
    threshold_ms = threshold_s * MS_PER_SECOND
    return watermark_ms - threshold_ms, now_ms - threshold_ms


def enqueue_bounds(
    watermark_ms: int, now_ms: int, config: PhaseConfig, phase: Phase
) -> tuple[int, int] | None:
    """The scheduler's selection rule for one phase open now (`eros simulate` runs it too):
    the last-activity range whose users get a job at this tick, or None when the phase's
    watermark is at now already. The caller moves the watermark to now afterwards."""
    if now_ms <= watermark_ms:
        return None
    return crossing_bounds(watermark_ms, now_ms, config.idle_seconds[int(phase) - 1])


@dataclass
class TickReport:
    leader: bool
    examined: dict[Phase, int] = field(default_factory=dict)
    enqueued: dict[Phase, int] = field(default_factory=dict)
    skipped: list[Phase] = field(default_factory=list)

    @property
    def total_enqueued(self) -> int:
        return sum(self.enqueued.values())

    @property
    def total_examined(self) -> int:
        return sum(self.examined.values())


def default_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class Scheduler:
    def __init__(
        self,
        connection: redis.Redis,
        settings: Settings,
        *,
        clock: Clock | None = None,
        name: str | None = None,
        phase_config: PhaseConfigFollower | None = None,
    ) -> None:
        self.name = name or default_name()
        self._connection = connection
        self._settings = settings
        self._clock = clock or SystemClock()
        self._enqueuer = Enqueuer(connection, settings)
        self.lease = Lease(
            connection, SCHEDULER_LEASE_KEY, self.name, settings.scheduler_lease_seconds
        )
        # Thresholds, queues and off-peak windows: the operator's, re-read every tick.
        self.phase_config = phase_config or PhaseConfigFollower(
            connection, settings, f"scheduler/{self.name}"
        )
        # The console's per-minute history: the active scheduler is its one writer.
        self.history = HistorySampler(connection, settings.history_retention_minutes)
        self._next_recovery = 0.0
        self._next_retention = 0.0
        self._next_model_fit = 0.0
        self.last_progress = time.monotonic()

    def tick(self) -> TickReport:
        started = time.perf_counter()
        self.last_progress = time.monotonic()
        now_ms = self._clock.now_ms()
        config = self.phase_config.current()
        if not self.lease.acquire():
            metrics.SCHEDULER_LEADER.set(0)
            self.history.forget()
            return TickReport(leader=False)
        metrics.SCHEDULER_LEADER.set(1)
        report = TickReport(leader=True)
        try:
            watermarks = self.watermarks()
            for phase in DEEPEST_FIRST:
                self._tick_phase(config, phase, watermarks.get(phase), now_ms, report)
            if time.monotonic() >= self._next_recovery:
                self._next_recovery = time.monotonic() + self._settings.recovery_interval_seconds
                recover_abandoned(self._connection, self._settings, config=config)
            if time.monotonic() >= self._next_retention:
                self._next_retention = time.monotonic() + RETENTION_CHECK_SECONDS
                enqueue_retention(self._connection, self._settings, now_ms)
            if time.monotonic() >= self._next_model_fit:
                self._next_model_fit = time.monotonic() + MODEL_FIT_CHECK_SECONDS
                enqueue_model_fit(self._connection, self._settings, now_ms)
        except LeaseLost:
            logger.warning(
                "Scheduler %s lost its lease during a tick; another one took over.", self.name
            )
            metrics.SCHEDULER_LEADER.set(0)
            report.leader = False
            return report
        duration = time.perf_counter() - started
        metrics.SCHEDULER_TICK.observe(duration)
        self._publish(now_ms, duration, report)
        self.history.maybe_sample(config, now_ms)
        return report

    def watermarks(self) -> dict[Phase, int]:
        raw = self._connection.hgetall(SCHEDULER_WATERMARKS_KEY)
        return {Phase(int(phase)): int(value) for phase, value in raw.items()}

    def release(self) -> None:
        if self.lease.release():
            logger.info("Scheduler %s released its lease.", self.name)
        metrics.SCHEDULER_LEADER.set(0)

    def _tick_phase(
        self,
        config: PhaseConfig,
        phase: Phase,
        watermark_ms: int | None,
        now_ms: int,
        report: TickReport,
    ) -> None:
        label = metrics.phase_label(phase)
        if watermark_ms is None:
            # A first start schedules from now on: users idle already wait for their next
            # idle period, rather than every tracked user getting a job at once.
            logger.info("Scheduling phase %d from now on (no watermark yet).", int(phase))
            self._save_watermark(phase, now_ms)
            return
        open_now = config.in_window(phase, now_ms)
        metrics.SCHEDULER_PHASE_OPEN.labels(label).set(int(open_now))
        if not open_now:
            report.skipped.append(phase)
        elif (bounds := enqueue_bounds(watermark_ms, now_ms, config, phase)) is not None:
            low, high = bounds
            examined = enqueued = 0
            for batch in self._crossings(low, high):
                counts = self._enqueuer.enqueue(phase, batch, config.queue(phase))
                examined += len(batch)
                enqueued += counts.enqueued
                self._renew()
            report.examined[phase] = examined
            report.enqueued[phase] = enqueued
            metrics.USERS_EXAMINED.labels(label).inc(examined)
            metrics.JOBS_ENQUEUED.labels(label).inc(enqueued)
            if enqueued:
                logger.info("Enqueued %d phase %d jobs.", enqueued, int(phase))
            self._save_watermark(phase, now_ms)
            watermark_ms = now_ms
        metrics.SCHEDULER_LAG.labels(label).set(max(0, now_ms - watermark_ms) / MS_PER_SECOND)

    def _crossings(self, low: int, high: int) -> Iterator[list[tuple[bytes, int]]]:
        """Batches of (member, last activity) with activity in (low, high], in score order.

        Pages on (score, offset among equal scores), so that users sharing a millisecond
        are neither skipped nor read twice at a batch boundary.
        """
        size = self._settings.scheduler_batch_users
        minimum, offset = f"({low}", 0
        while True:
            rows = cast(
                list[tuple[bytes, float]],
                self._connection.zrangebyscore(
                    ACTIVITY_KEY, minimum, high, start=offset, num=size, withscores=True
                ),
            )
            if not rows:
                return
            yield [(member, int(score)) for member, score in rows]
            if len(rows) < size:
                return
            last = int(rows[-1][1])
            if minimum == str(last):  # the whole batch shared one score
                offset += len(rows)
            else:
                minimum, offset = str(last), sum(1 for _, score in rows if int(score) == last)

    def _renew(self) -> None:
        self.last_progress = time.monotonic()
        if not self.lease.acquire():
            raise LeaseLost

    def _save_watermark(self, phase: Phase, now_ms: int) -> None:
        if not self.lease.hset_if_held(SCHEDULER_WATERMARKS_KEY, {str(int(phase)): now_ms}):
            raise LeaseLost

    def _publish(self, now_ms: int, duration_s: float, report: TickReport) -> None:
        state: dict[FieldT, EncodableT] = {
            "leader": self.name,
            "tickAtMs": now_ms,
            "tickSeconds": round(duration_s, 6),
            "enqueued": report.total_enqueued,
            "examined": report.total_examined,
        }
        with self._connection.pipeline(transaction=False) as pipe:
            pipe.hset(SCHEDULER_STATE_KEY, mapping=state)
            pipe.expire(SCHEDULER_STATE_KEY, STATE_TTL_SECONDS)
            pipe.execute()


def run_scheduler(settings: Settings, *, metrics_port: int | None = None) -> int:
    """Tick until SIGTERM or Ctrl-C, then hand the lease over at once."""
    if not settings.redis_url:
        raise RuntimeError("EROS_REDIS_URL is not set (run `eros dev` for an embedded one)")
    connection = sync_redis(settings.redis_url)
    scheduler = Scheduler(connection, settings)
    stopping = threading.Event()

    def request_stop(signum: int, _: FrameType | None) -> None:
        logger.info("Received %s; stopping the scheduler.", signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    port = settings.scheduler_metrics_port if metrics_port is None else metrics_port
    server: ProbeServer | None = None
    if port:
        server = ProbeServer(
            settings.metrics_host,
            port,
            registry=metrics.SCHEDULER_REGISTRY,
            live=lambda: time.monotonic() - scheduler.last_progress < LIVENESS_SECONDS,
            before_scrape=metrics.load_sampler(connection, scheduler.phase_config.current),
        )
        server.start()
    logger.info("Scheduler %s started.", scheduler.name)
    was_leader = False
    try:
        while not stopping.is_set():
            started = time.monotonic()
            try:
                leader = scheduler.tick().leader
            except redis.RedisError as exc:
                logger.warning("A scheduler tick failed: Redis is unavailable (%s).", exc)
                metrics.SCHEDULER_LEADER.set(0)
                leader = False
            if leader != was_leader:
                logger.info(
                    "Scheduler %s is %s.", scheduler.name, "active" if leader else "standby"
                )
                was_leader = leader
            stopping.wait(max(0.0, settings.scheduler_tick_seconds - (time.monotonic() - started)))
    finally:
        scheduler.phase_config.forget()
        try:
            scheduler.release()
        except redis.RedisError:
            logger.warning("Could not release the scheduler lease; it will expire by itself.")
        if server is not None:
            server.stop()
    logger.info("Scheduler %s stopped.", scheduler.name)
    return 0
