"""The phase configuration every component follows: thresholds, queues, off-peak windows.

The ErosProcessing resource owns it. The operator validates the resource and publishes
the result, with the resource's generation, to one Redis key (`publish`); the scheduler,
the API and the workers read that key (`PhaseConfigFollower`, `AsyncPhaseConfigFollower`)
at most once per refresh interval, and report which generation they follow, so that an
edit reaches every component without a restart. With no operator (a developer's
`eros api` + `eros scheduler`, the tests), nothing is published and every component
follows the defaults of its own settings.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio as aredis

from eros.core.clock import MS_PER_SECOND
from eros.core.keys import PHASE_CONFIG_FOLLOWERS_KEY, PHASE_CONFIG_KEY
from eros.core.offpeak import OffPeakError, OffPeakWindow, time_zone
from eros.core.phases import DEFAULT_CPU_BUDGET_PERCENT, DEFAULT_PRIORITY, Phase
from eros.core.settings import Settings

logger = logging.getLogger(__name__)

PHASES = 3
SETTINGS_SOURCE = "settings"
# A component reads the published configuration at most this often: an edit reaches it
# within one operator tick plus this.
DEFAULT_REFRESH_SECONDS = 1.0
# A follower not heard of for this long is gone (a stopped process); the status omits it.
FOLLOWER_STALE_SECONDS = 60.0


class PhaseConfigError(ValueError):
    """A published configuration that cannot be understood."""


@dataclass(frozen=True, slots=True)
class PhaseConfig:
    """What the phases are now; `generation` is None when it comes from the settings."""

    idle_seconds: tuple[int, ...]
    queues: tuple[str, ...]
    windows: tuple[OffPeakWindow | None, ...]
    time_zone: str
    cpu_budget_percent: tuple[float, ...]
    priority: tuple[int, ...]  # phase numbers, most important first
    paused: bool = False
    source: str = SETTINGS_SOURCE  # "namespace/name" of the resource, or "settings"
    generation: int | None = None

    def __post_init__(self) -> None:
        if not (
            len(self.idle_seconds) == len(self.queues) == len(self.windows) == PHASES
            and len(self.cpu_budget_percent) == PHASES
        ):
            raise PhaseConfigError(f"a phase configuration lists exactly {PHASES} phases")
        if any(t <= 0 for t in self.idle_seconds) or list(self.idle_seconds) != sorted(
            set(self.idle_seconds)
        ):
            raise PhaseConfigError("idle thresholds must be positive and strictly increasing")
        if sorted(self.priority) != list(range(1, PHASES + 1)):
            raise PhaseConfigError("priority must list every phase number once")
        if not all(self.queues):
            raise PhaseConfigError("every phase needs a queue")
        try:
            time_zone(self.time_zone)
        except OffPeakError as error:
            raise PhaseConfigError(str(error)) from error

    def queue(self, phase: Phase) -> str:
        return self.queues[int(phase) - 1]

    def window(self, phase: Phase) -> OffPeakWindow | None:
        return self.windows[int(phase) - 1]

    def in_window(self, phase: Phase, now_ms: int) -> bool:
        """Whether the phase may run now (always, without an off-peak window)."""
        window = self.window(phase)
        return window is None or window.contains_ms(now_ms, time_zone(self.time_zone))

    @property
    def label(self) -> str:
        """Which configuration this is, for logs and the status."""
        if self.generation is None:
            return "the settings' defaults"
        return f"{self.source} generation {self.generation}"


def from_settings(settings: Settings) -> PhaseConfig:
    """The configuration a component follows while no operator has published one."""
    return PhaseConfig(
        idle_seconds=tuple(settings.phase_idle_seconds),
        queues=tuple(settings.phase_queues),
        windows=tuple(OffPeakWindow.parse(t) if t else None for t in settings.phase_off_peak),
        time_zone=settings.off_peak_timezone,
        cpu_budget_percent=tuple(float(b) for b in DEFAULT_CPU_BUDGET_PERCENT),
        priority=DEFAULT_PRIORITY,
    )


def encode(config: PhaseConfig) -> str:
    return json.dumps(
        {
            "source": config.source,
            "generation": config.generation,
            "idleSeconds": list(config.idle_seconds),
            "queues": list(config.queues),
            "offPeak": [str(w) if w else None for w in config.windows],
            "timeZone": config.time_zone,
            "cpuBudgetPercent": list(config.cpu_budget_percent),
            "priority": list(config.priority),
            "paused": config.paused,
        },
        separators=(",", ":"),
    )


def decode(raw: str | bytes) -> PhaseConfig:
    try:
        data = json.loads(raw)
        return PhaseConfig(
            idle_seconds=tuple(int(t) for t in data["idleSeconds"]),
            queues=tuple(str(q) for q in data["queues"]),
            windows=tuple(OffPeakWindow.parse(w) if w else None for w in data["offPeak"]),
            time_zone=str(data["timeZone"]),
            cpu_budget_percent=tuple(float(b) for b in data["cpuBudgetPercent"]),
            priority=tuple(int(p) for p in data["priority"]),
            paused=bool(data["paused"]),
            source=str(data["source"]),
            generation=None if data["generation"] is None else int(data["generation"]),
        )
    except (ValueError, KeyError, TypeError) as error:  # JSONDecodeError, OffPeakError too
        raise PhaseConfigError(f"the published phase configuration is unusable: {error}") from error


def publish(connection: redis.Redis, config: PhaseConfig) -> bool:
    """Publish `config` (the operator); True when it changed what was published."""
    previous = connection.set(PHASE_CONFIG_KEY, encode(config), get=True)
    return previous is None or _text(previous) != encode(config)


def withdraw(connection: redis.Redis, source: str) -> bool:
    """Remove the published configuration if `source` published it (its resource is gone)."""
    raw = connection.get(PHASE_CONFIG_KEY)
    if raw is None:
        return False
    try:
        if decode(raw).source != source:
            return False
    except PhaseConfigError:
        pass
    return bool(connection.delete(PHASE_CONFIG_KEY))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(frozen=True, slots=True)
class Follower:
    """A component and the configuration it last read."""

    component: str
    generation: int | None
    source: str
    seen_at_ms: int


def _follower_entry(component: str, config: PhaseConfig, now_ms: int) -> str:
    return json.dumps(
        {"generation": config.generation, "source": config.source, "atMs": now_ms},
        separators=(",", ":"),
    )


def parse_followers(raw: Mapping[Any, Any], now_ms: int) -> list[Follower]:
    """The followers heard of within FOLLOWER_STALE_SECONDS, by component name."""
    found = []
    for key, value in raw.items():
        try:
            entry = json.loads(value)
            follower = Follower(
                component=_text(key),
                generation=None if entry["generation"] is None else int(entry["generation"]),
                source=str(entry["source"]),
                seen_at_ms=int(entry["atMs"]),
            )
        except (ValueError, KeyError, TypeError):
            continue
        if now_ms - follower.seen_at_ms <= FOLLOWER_STALE_SECONDS * MS_PER_SECOND:
            found.append(follower)
    return sorted(found, key=lambda f: f.component)


class _Cache:
    """The refresh rule both followers share: read again once the interval has passed."""

    def __init__(
        self,
        component: str,
        defaults: PhaseConfig,
        refresh_seconds: float,
        clock: Callable[[], float],
    ) -> None:
        self.component = component
        self.defaults = defaults
        self.config = defaults
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self.next_read = 0.0

    def due(self) -> bool:
        return self.clock() >= self.next_read

    def update(self, raw: bytes | str | None) -> PhaseConfig:
        self.next_read = self.clock() + self.refresh_seconds
        if raw is None:
            config = self.defaults
        else:
            try:
                config = decode(raw)
            except PhaseConfigError as error:
                logger.warning("Keeping %s: %s", self.config.label, error)
                return self.config
        if config != self.config:
            logger.info("%s now follows %s.", self.component, config.label)
        self.config = config
        return config

    def failed(self, error: Exception) -> PhaseConfig:
        # Redis down: keep what was followed; the component's own work fails anyway.
        self.next_read = self.clock() + self.refresh_seconds
        logger.debug("Could not read the phase configuration: %s", error)
        return self.config


class PhaseConfigFollower:
    """The configuration a blocking component (scheduler, worker) follows."""

    def __init__(
        self,
        connection: redis.Redis,
        settings: Settings,
        component: str,
        *,
        refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], int] = lambda: int(time.time() * MS_PER_SECOND),
    ) -> None:
        self._connection = connection
        self._cache = _Cache(component, from_settings(settings), refresh_seconds, clock)
        self._wall_ms = wall_ms
        # A worker reads it from its queue watch and from its metrics server's thread.
        self._lock = threading.Lock()

    def current(self) -> PhaseConfig:
        with self._lock:
            return self._current()

    def _current(self) -> PhaseConfig:
        if not self._cache.due():
            return self._cache.config
        try:
            raw = self._connection.get(PHASE_CONFIG_KEY)
            config = self._cache.update(raw)
            self._connection.hset(
                PHASE_CONFIG_FOLLOWERS_KEY,
                self._cache.component,
                _follower_entry(self._cache.component, config, self._wall_ms()),
            )
        except redis.RedisError as error:
            return self._cache.failed(error)
        return config

    def forget(self) -> None:
        """Leave the followers' list (a component stopping cleanly)."""
        try:
            self._connection.hdel(PHASE_CONFIG_FOLLOWERS_KEY, self._cache.component)
        except redis.RedisError:
            logger.debug("Could not leave the followers' list; the entry goes stale.")


class AsyncPhaseConfigFollower:
    """The configuration the API follows; at most one Redis read per refresh interval."""

    def __init__(
        self,
        client: aredis.Redis,
        settings: Settings,
        component: str,
        *,
        refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], int] = lambda: int(time.time() * MS_PER_SECOND),
    ) -> None:
        self._client = client
        self._cache = _Cache(component, from_settings(settings), refresh_seconds, clock)
        self._wall_ms = wall_ms

    @property
    def component(self) -> str:
        return self._cache.component

    async def current(self) -> PhaseConfig:
        if not self._cache.due():
            return self._cache.config
        try:
            raw = await self._client.get(PHASE_CONFIG_KEY)
            config = self._cache.update(raw)
            await self._client.hset(
                PHASE_CONFIG_FOLLOWERS_KEY,
                self._cache.component,
                _follower_entry(self._cache.component, config, self._wall_ms()),
            )
        except redis.RedisError as error:
            return self._cache.failed(error)
        return config

    async def forget(self) -> None:
        try:
            await self._client.hdel(PHASE_CONFIG_FOLLOWERS_KEY, self._cache.component)
        except redis.RedisError:
            logger.debug("Could not leave the followers' list; the entry goes stale.")
