"""The operator's last plan, as the console reads it: per phase the workers it wants and
has, the phase's budget and why, the CPU pool, and the resource generation it followed.

The operator (`eros.operator.reconciler`, in a cluster and under `eros dev` alike) writes
it to one Redis key at the end of every tick, from the status it has just built, so that
the API, which cannot read the Kubernetes resource, shows the same facts. The key
expires when no operator ticks any more, and `at` says how fresh it is.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from typing import Any

import redis
import redis.asyncio as aredis

from eros.core.keys import OPERATOR_PLAN_KEY

logger = logging.getLogger(__name__)

# An operator ticks every few seconds; an hour-old plan is better gone than believed.
PLAN_TTL_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class PhasePlanRecord:
    name: str
    desired: int  # replicas the planner asked for
    ready: int  # replicas whose pods are ready
    budget: int  # the most replicas the phase's CPU budget holds
    reason: str | None  # the planner's reason (eros.operator.planner.PlanReason), or why not
    cpu_allocated: str  # what the phase's Deployment holds, as a Kubernetes quantity
    idle_users: int | None


@dataclass(frozen=True, slots=True)
class OperatorPlanRecord:
    source: str  # namespace/name of the ErosProcessing
    generation: int | None  # the resource's metadata.generation the plan followed
    at_ms: int
    cpu_pool: str
    cpu_pool_millicores: int
    usable_millicores: int  # the pool less the headroom
    degraded: str | None  # the Degraded condition's reason when metrics were not read
    phases: tuple[PhasePlanRecord, ...]

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))


def parse_plan(raw: bytes | str | None) -> OperatorPlanRecord | None:
    """The record, or None when there is none or it is not one this version reads."""
    if raw is None:
        return None
    try:
        data: dict[str, Any] = json.loads(raw)
        phases = tuple(PhasePlanRecord(**phase) for phase in data.pop("phases"))
        return OperatorPlanRecord(**data, phases=phases)
    except (ValueError, KeyError, TypeError):
        logger.warning("The operator's published plan is not readable; it is ignored.")
        return None


def publish_plan(client: redis.Redis, record: OperatorPlanRecord) -> None:
    client.set(OPERATOR_PLAN_KEY, record.to_json(), ex=PLAN_TTL_SECONDS)


async def read_plan(client: aredis.Redis) -> OperatorPlanRecord | None:
    return parse_plan(await client.get(OPERATOR_PLAN_KEY))
