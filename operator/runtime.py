"""What the operator process shares between its handlers: options, clients, tick heartbeats."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

DEFAULT_LIVENESS_PORT = 8080
DEFAULT_METRICS_PORT = 9090
DEFAULT_PEERING_NAME = "eros"
# A daemon that has not ticked for this many ticks (plus a margin for slow API calls)
# is stuck; the liveness probe then fails and Kubernetes restarts the operator.
STALE_TICKS = 5
STALE_MARGIN_SECONDS = 60.0


@dataclass(frozen=True)
class OperatorOptions:
    """How `eros operator` was started; read by the one startup handler."""

    namespaces: tuple[str, ...] = ()
    clusterwide: bool = False
    liveness_port: int = DEFAULT_LIVENESS_PORT
    metrics_port: int = DEFAULT_METRICS_PORT
    peering_name: str = DEFAULT_PEERING_NAME
    standalone: bool = False
    priority: int = 0


class StuckDaemon(Exception):
    """A resource's daemon stopped ticking."""


@dataclass
class Heartbeats:
    """When each resource's daemon last finished a tick, and what it could not fix itself.

    Read by the `/healthz` probes: a stuck daemon fails the liveness probe (a restart may
    help); a problem only a person can fix (RBAC, a missing Secret) is reported there
    without failing it, since restarting the operator would not fix it.
    """

    clock: Callable[[], float] = time.monotonic
    _beats: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)
    _problems: dict[tuple[str, str], str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def beat(
        self, namespace: str, name: str, tick_seconds: float, problem: str | None = None
    ) -> None:
        with self._lock:
            self._beats[(namespace, name)] = (self.clock(), tick_seconds)
            if problem is None:
                self._problems.pop((namespace, name), None)
            else:
                self._problems[(namespace, name)] = problem

    def forget(self, namespace: str, name: str) -> None:
        with self._lock:
            self._beats.pop((namespace, name), None)
            self._problems.pop((namespace, name), None)

    def problems(self) -> dict[str, str]:
        """What each resource's last tick could not do, as "Reason: sentence"."""
        with self._lock:
            return {f"{ns}/{name}": text for (ns, name), text in sorted(self._problems.items())}

    def check(self) -> dict[str, float]:
        """Seconds since each resource's last tick; raises if one is stuck."""
        now = self.clock()
        with self._lock:
            ages = {f"{ns}/{name}": now - at for (ns, name), (at, _) in self._beats.items()}
            stuck = [
                f"{ns}/{name}"
                for (ns, name), (at, tick) in self._beats.items()
                if now - at > tick * STALE_TICKS + STALE_MARGIN_SECONDS
            ]
        if stuck:
            raise StuckDaemon(f"No tick for too long: {', '.join(sorted(stuck))}.")
        return ages
