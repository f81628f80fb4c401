"""The ErosProcessing spec as typed, validated values, with the CRD's defaults.

The API server applies the CRD's defaults and validation before the operator sees an
object, but the operator must not depend on it (an object stored before a CRD upgrade,
a mock API in tests), so parsing applies the same defaults and checks the same rules.
`tests/operator/test_crd.py` checks that both sets of defaults agree.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from eros.core.offpeak import OffPeakWindow
from eros.core.phases import DEFAULT_CPU_BUDGET_PERCENT, DEFAULT_IDLE_SECONDS, DEFAULT_QUEUES
from eros.operator.quantity import QuantityError, cpu_millicores, memory_bytes

GROUP = "eros.dev"
VERSION = "v1alpha1"
PLURAL = "erosprocessings"
KIND = "ErosProcessing"
API_VERSION = f"{GROUP}/{VERSION}"

PHASE_COUNT = 3
DEFAULT_TICK_SECONDS = 5
MIN_TICK_SECONDS = 1
MAX_TICK_SECONDS = 300
DEFAULT_REDIS_SECRET_NAME = "eros-redis"
DEFAULT_REDIS_SECRET_KEY = "redis-url"
DEFAULT_CPU_POOL = "4"
DEFAULT_HEADROOM_PERCENT = 5
MAX_HEADROOM_PERCENT = 50
DEFAULT_CPU_PER_WORKER = "250m"
DEFAULT_MEMORY_PER_WORKER = "512Mi"
DEFAULT_JOBS_PER_WORKER = 1
DEFAULT_MIN_REPLICAS = 0
DEFAULT_MAX_REPLICAS = 10
DEFAULT_OFF_PEAK_START = "23:00"
DEFAULT_OFF_PEAK_END = "07:00"
DEFAULT_OFF_PEAK_TIME_ZONE = "UTC"
DEFAULT_STABILIZATION_WINDOW_SECONDS = 300
# How long a worker pod takes from a scale-up to taking jobs, in a typical cluster: with
# a tick, the default horizon of predictive pre-scaling (`spec.predictive`).
DEFAULT_POD_START_DELAY_SECONDS = 15
MAX_PREDICTIVE_HORIZON_SECONDS = 3600
DEFAULT_IMAGE = "eros:latest"
DEFAULT_IMAGE_PULL_POLICY = "IfNotPresent"
# Long enough for a running job to checkpoint and requeue itself after SIGTERM.
DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS = 60
DEFAULT_POD_SECURITY_CONTEXT: Mapping[str, Any] = {
    "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"},
}
DEFAULT_CONTAINER_SECURITY_CONTEXT: Mapping[str, Any] = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
}
# Phase 1 is light work for users who just left, phase 3 deep work for users long gone:
# the CPU shares are those EROS promises (5 %, 15 %, up to 100 %, always with headroom).


def format_duration(seconds: int) -> str:
    """The shortest duration of whole units for `seconds`: 3600 is "1h", 90 is "1m30s"."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = "".join(f"{n}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (secs, "s")) if n)
    return text or "0s"


DEFAULT_PHASES: Sequence[Mapping[str, Any]] = (
    {
        "name": "phase-1",
        "idleAfter": format_duration(DEFAULT_IDLE_SECONDS[0]),
        "cpuBudgetPercent": DEFAULT_CPU_BUDGET_PERCENT[0],
        "cpuPerWorker": "100m",
        "memoryPerWorker": "256Mi",
        "jobsPerWorker": 1,
        "minReplicas": 0,
        "maxReplicas": 4,
        "queue": DEFAULT_QUEUES[0],
        "offPeakOnly": False,
    },
    {
        "name": "phase-2",
        "idleAfter": format_duration(DEFAULT_IDLE_SECONDS[1]),
        "cpuBudgetPercent": DEFAULT_CPU_BUDGET_PERCENT[1],
        "cpuPerWorker": "250m",
        "memoryPerWorker": "384Mi",
        "jobsPerWorker": 1,
        "minReplicas": 0,
        "maxReplicas": 8,
        "queue": DEFAULT_QUEUES[1],
        "offPeakOnly": False,
    },
    {
        "name": "phase-3",
        "idleAfter": format_duration(DEFAULT_IDLE_SECONDS[2]),
        "cpuBudgetPercent": DEFAULT_CPU_BUDGET_PERCENT[2],
        "cpuPerWorker": "1",
        "memoryPerWorker": "1Gi",
        "jobsPerWorker": 1,
        "minReplicas": 0,
        "maxReplicas": 16,
        "queue": DEFAULT_QUEUES[2],
        "offPeakOnly": False,
    },
)

_DURATION = re.compile(r"^(?:[0-9]+[hms])+$")
_DURATION_PART = re.compile(r"([0-9]+)([hms])")
_DURATION_UNIT_SECONDS = {"h": 3600, "m": 60, "s": 1}
_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
MAX_IDLE_AFTER_SECONDS = 720 * 3600


class SpecError(ValueError):
    """An ErosProcessing spec the operator cannot act on."""


@dataclass(frozen=True)
class PhaseSpec:
    number: int
    name: str
    idle_after_seconds: int
    cpu_budget_percent: int
    cpu_per_worker: str
    cpu_per_worker_millicores: int
    memory_per_worker: str
    jobs_per_worker: int
    min_replicas: int
    max_replicas: int
    queue: str
    off_peak_only: bool


@dataclass(frozen=True)
class OffPeak:
    """The resource's off-peak window: core's window rule, in the resource's time zone."""

    window: OffPeakWindow
    time_zone: str

    def contains(self, local: time) -> bool:
        """Whether a local wall-clock time is inside the window, which may cross midnight."""
        return self.window.contains(local)


@dataclass(frozen=True)
class WorkerPodSpec:
    image: str = DEFAULT_IMAGE
    image_pull_policy: str = DEFAULT_IMAGE_PULL_POLICY
    image_pull_secrets: tuple[str, ...] = ()
    service_account_name: str = ""
    priority_class_name: str = ""
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple[Mapping[str, Any], ...] = ()
    affinity: Mapping[str, Any] = field(default_factory=dict)
    pod_annotations: Mapping[str, str] = field(default_factory=dict)
    pod_labels: Mapping[str, str] = field(default_factory=dict)
    env: tuple[Mapping[str, Any], ...] = ()
    env_from: tuple[Mapping[str, Any], ...] = ()
    pod_security_context: Mapping[str, Any] = field(
        default_factory=lambda: dict(DEFAULT_POD_SECURITY_CONTEXT)
    )
    security_context: Mapping[str, Any] = field(
        default_factory=lambda: dict(DEFAULT_CONTAINER_SECURITY_CONTEXT)
    )
    termination_grace_period_seconds: int = DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS


@dataclass(frozen=True)
class RedisSecretRef:
    name: str = DEFAULT_REDIS_SECRET_NAME
    key: str = DEFAULT_REDIS_SECRET_KEY


# Predictive pre-scaling is on unless a resource turns it off: `eros simulate` measured it
# within 0.1% of the reactive planner's CPU-hours, with first jobs no longer waiting a pod
# start (docs/benchmarks.md, "A simulated day"). The CRD's default says the same.
DEFAULT_PREDICTIVE_ENABLED = True


@dataclass(frozen=True)
class PredictiveSpec:
    """Predictive pre-scaling (`spec.predictive`): workers for the users about to cross a
    threshold, started ahead of the crossing."""

    enabled: bool = DEFAULT_PREDICTIVE_ENABLED
    # Seconds ahead to forecast; None: the pod start delay plus one tick.
    horizon_seconds: int | None = None

    def horizon(self, tick_seconds: int) -> int:
        if self.horizon_seconds is not None:
            return self.horizon_seconds
        return DEFAULT_POD_START_DELAY_SECONDS + tick_seconds


@dataclass(frozen=True)
class ProcessingSpec:
    phases: tuple[PhaseSpec, ...]
    cpu_pool: str
    cpu_pool_millicores: int
    headroom_percent: int
    priority: tuple[int, ...]  # phase numbers, most important first
    off_peak: OffPeak
    stabilization_window_seconds: int
    tick_seconds: int
    paused: bool
    redis: RedisSecretRef
    worker: WorkerPodSpec
    predictive: PredictiveSpec = PredictiveSpec()

    @property
    def predictive_horizon_seconds(self) -> int:
        return self.predictive.horizon(self.tick_seconds)

    @property
    def idle_thresholds_seconds(self) -> list[int]:
        return [phase.idle_after_seconds for phase in self.phases]


def parse_duration_seconds(text: str) -> int:
    """Seconds of a Go-style duration of whole units ("10m", "1h30m")."""
    if not isinstance(text, str) or not _DURATION.match(text):
        raise SpecError(f"{text!r} is not a duration such as 10m or 1h30m")
    return sum(
        int(amount) * _DURATION_UNIT_SECONDS[unit] for amount, unit in _DURATION_PART.findall(text)
    )


def _clock(text: Any, what: str) -> time:
    match = _CLOCK.match(text) if isinstance(text, str) else None
    if match is None:
        raise SpecError(f"{what} must be HH:MM, got {text!r}")
    return time(int(match[1]), int(match[2]))


def _int(raw: Mapping[str, Any], key: str, default: int, low: int, high: int, where: str) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SpecError(f"{where}{key} must be an integer within {low}-{high}, got {value!r}")
    return value


def _str(raw: Mapping[str, Any], key: str, default: str, where: str) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str):
        raise SpecError(f"{where}{key} must be a string, got {value!r}")
    return value


def _phase(number: int, raw: Mapping[str, Any]) -> PhaseSpec:
    where = f"phases[{number - 1}]."
    for key in ("name", "idleAfter", "cpuBudgetPercent", "queue"):
        if key not in raw:
            raise SpecError(f"{where}{key} is required")
    name = _str(raw, "name", "", where)
    if not _DNS_LABEL.match(name):
        raise SpecError(f"{where}name must be a DNS label, got {name!r}")
    idle_after = parse_duration_seconds(raw["idleAfter"])
    if not 1 <= idle_after <= MAX_IDLE_AFTER_SECONDS:
        raise SpecError(f"{where}idleAfter must be between 1s and 720h")
    cpu = str(raw.get("cpuPerWorker", DEFAULT_CPU_PER_WORKER))
    memory = str(raw.get("memoryPerWorker", DEFAULT_MEMORY_PER_WORKER))
    try:
        millicores = cpu_millicores(cpu)
        memory_size = memory_bytes(memory)
    except QuantityError as error:
        raise SpecError(f"{where}{error}") from error
    if millicores <= 0 or memory_size <= 0:
        raise SpecError(f"{where}cpuPerWorker and memoryPerWorker must be positive")
    min_replicas = _int(raw, "minReplicas", DEFAULT_MIN_REPLICAS, 0, 1000, where)
    max_replicas = _int(raw, "maxReplicas", DEFAULT_MAX_REPLICAS, 0, 1000, where)
    if min_replicas > max_replicas:
        raise SpecError(f"{where}minReplicas must not exceed maxReplicas")
    off_peak_only = raw.get("offPeakOnly", False)
    if not isinstance(off_peak_only, bool):
        raise SpecError(f"{where}offPeakOnly must be a boolean")
    queue = _str(raw, "queue", "", where)
    if not queue:
        raise SpecError(f"{where}queue must not be empty")
    return PhaseSpec(
        number=number,
        name=name,
        idle_after_seconds=idle_after,
        cpu_budget_percent=_int(raw, "cpuBudgetPercent", 0, 0, 100, where),
        cpu_per_worker=cpu,
        cpu_per_worker_millicores=millicores,
        memory_per_worker=memory,
        jobs_per_worker=_int(raw, "jobsPerWorker", DEFAULT_JOBS_PER_WORKER, 1, 10000, where),
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        queue=queue,
        off_peak_only=off_peak_only,
    )


def _phases(raw: Any) -> tuple[PhaseSpec, ...]:
    if not isinstance(raw, Sequence) or len(raw) != PHASE_COUNT:
        raise SpecError(f"phases must list exactly {PHASE_COUNT} phases")
    phases = tuple(_phase(number, item) for number, item in enumerate(raw, start=1))
    if len({phase.name for phase in phases}) != PHASE_COUNT:
        raise SpecError("phase names must be unique")
    thresholds = [phase.idle_after_seconds for phase in phases]
    if any(a >= b for a, b in itertools.pairwise(thresholds)):
        raise SpecError("idleAfter must be strictly increasing from phase 1 to phase 3")
    return phases


def _priority(raw: Any, phases: Sequence[PhaseSpec]) -> tuple[int, ...]:
    deepest_first = tuple(phase.number for phase in reversed(phases))
    if not raw:
        return deepest_first
    by_name = {phase.name: phase.number for phase in phases}
    if not isinstance(raw, Sequence) or len(raw) != len(phases) or set(raw) != set(by_name):
        raise SpecError("priority must be empty or list every phase name exactly once")
    return tuple(by_name[name] for name in raw)


def _off_peak(raw: Mapping[str, Any]) -> OffPeak:
    start = _clock(raw.get("start", DEFAULT_OFF_PEAK_START), "offPeak.start")
    end = _clock(raw.get("end", DEFAULT_OFF_PEAK_END), "offPeak.end")
    if start == end:
        raise SpecError("offPeak.start and offPeak.end must differ")
    zone = _str(raw, "timeZone", DEFAULT_OFF_PEAK_TIME_ZONE, "offPeak.")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise SpecError(f"offPeak.timeZone {zone!r} is not a known time zone") from error
    window = OffPeakWindow(start.hour * 60 + start.minute, end.hour * 60 + end.minute)
    return OffPeak(window=window, time_zone=zone)


def _predictive(raw: Mapping[str, Any]) -> PredictiveSpec:
    enabled = raw.get("enabled", DEFAULT_PREDICTIVE_ENABLED)
    if not isinstance(enabled, bool):
        raise SpecError("predictive.enabled must be a boolean")
    if raw.get("horizonSeconds") is None:
        return PredictiveSpec(enabled=enabled)
    horizon = _int(raw, "horizonSeconds", 0, 1, MAX_PREDICTIVE_HORIZON_SECONDS, "predictive.")
    return PredictiveSpec(enabled=enabled, horizon_seconds=horizon)


def _mapping(raw: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    value = raw.get(key) or {}
    if not isinstance(value, Mapping):
        raise SpecError(f"{where}{key} must be an object")
    return dict(value)


def _items(raw: Mapping[str, Any], key: str, where: str) -> tuple[Mapping[str, Any], ...]:
    value = raw.get(key) or []
    if not isinstance(value, Sequence) or not all(isinstance(v, Mapping) for v in value):
        raise SpecError(f"{where}{key} must be a list of objects")
    return tuple(dict(item) for item in value)


def _worker(raw: Mapping[str, Any]) -> WorkerPodSpec:
    where = "worker."
    pull_secrets = tuple(
        str(item.get("name", "")) for item in _items(raw, "imagePullSecrets", where)
    )
    return WorkerPodSpec(
        image=_str(raw, "image", DEFAULT_IMAGE, where) or DEFAULT_IMAGE,
        image_pull_policy=_str(raw, "imagePullPolicy", DEFAULT_IMAGE_PULL_POLICY, where),
        image_pull_secrets=tuple(name for name in pull_secrets if name),
        service_account_name=_str(raw, "serviceAccountName", "", where),
        priority_class_name=_str(raw, "priorityClassName", "", where),
        node_selector={str(k): str(v) for k, v in _mapping(raw, "nodeSelector", where).items()},
        tolerations=_items(raw, "tolerations", where),
        affinity=_mapping(raw, "affinity", where),
        pod_annotations={str(k): str(v) for k, v in _mapping(raw, "podAnnotations", where).items()},
        pod_labels={str(k): str(v) for k, v in _mapping(raw, "podLabels", where).items()},
        env=_items(raw, "env", where),
        env_from=_items(raw, "envFrom", where),
        pod_security_context=(
            _mapping(raw, "podSecurityContext", where)
            if "podSecurityContext" in raw
            else dict(DEFAULT_POD_SECURITY_CONTEXT)
        ),
        security_context=(
            _mapping(raw, "securityContext", where)
            if "securityContext" in raw
            else dict(DEFAULT_CONTAINER_SECURITY_CONTEXT)
        ),
        termination_grace_period_seconds=_int(
            raw,
            "terminationGracePeriodSeconds",
            DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS,
            1,
            3600,
            where,
        ),
    )


def parse_spec(raw: Mapping[str, Any]) -> ProcessingSpec:
    """Parse the `spec` of an ErosProcessing, applying the CRD's defaults."""
    if not isinstance(raw, Mapping):
        raise SpecError("spec must be an object")
    phases = _phases(raw.get("phases") or DEFAULT_PHASES)
    cpu_pool = str(raw.get("cpuPool", DEFAULT_CPU_POOL))
    try:
        pool_millicores = cpu_millicores(cpu_pool)
    except QuantityError as error:
        raise SpecError(f"cpuPool: {error}") from error
    if pool_millicores <= 0:
        raise SpecError("cpuPool must be positive")
    if any(phase.cpu_per_worker_millicores > pool_millicores for phase in phases):
        raise SpecError("cpuPerWorker of every phase must not exceed cpuPool")
    paused = raw.get("paused", False)
    if not isinstance(paused, bool):
        raise SpecError("paused must be a boolean")
    redis_raw = _mapping(raw, "redis", "")
    secret_raw = _mapping(redis_raw, "secretRef", "redis.")
    return ProcessingSpec(
        phases=phases,
        cpu_pool=cpu_pool,
        cpu_pool_millicores=pool_millicores,
        headroom_percent=_int(
            raw, "headroomPercent", DEFAULT_HEADROOM_PERCENT, 0, MAX_HEADROOM_PERCENT, ""
        ),
        priority=_priority(raw.get("priority"), phases),
        off_peak=_off_peak(_mapping(raw, "offPeak", "")),
        stabilization_window_seconds=_int(
            _mapping(raw, "scaleDown", ""),
            "stabilizationWindowSeconds",
            DEFAULT_STABILIZATION_WINDOW_SECONDS,
            0,
            3600,
            "scaleDown.",
        ),
        tick_seconds=_int(
            raw, "tickSeconds", DEFAULT_TICK_SECONDS, MIN_TICK_SECONDS, MAX_TICK_SECONDS, ""
        ),
        paused=paused,
        redis=RedisSecretRef(
            name=_str(secret_raw, "name", DEFAULT_REDIS_SECRET_NAME, "redis.secretRef.")
            or DEFAULT_REDIS_SECRET_NAME,
            key=_str(secret_raw, "key", DEFAULT_REDIS_SECRET_KEY, "redis.secretRef.")
            or DEFAULT_REDIS_SECRET_KEY,
        ),
        worker=_worker(_mapping(raw, "worker", "")),
        predictive=_predictive(_mapping(raw, "predictive", "")),
    )
