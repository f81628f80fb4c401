"""The console's history and the operator's last plan, for administrators."""

from __future__ import annotations

from pydantic import Field

from eros.api.schemas.base import ApiModel
from eros.pipeline.history import Sample
from eros.pipeline.operator_plan import OperatorPlanRecord


class HaltLatency(ApiModel):
    p50: float | None = Field(description="Median halt latency of running jobs, ms.")
    p95: float | None
    p99: float | None


class HistorySample(ApiModel):
    at: int = Field(description="The minute's start, epoch ms.")
    users: list[int] = Field(description="Users per phase as the minute began; index 0: active.")
    queued: list[int] = Field(description="Jobs waiting per phase (1, 2, 3).")
    running: list[int] = Field(description="Jobs running per phase (1, 2, 3).")
    desired: list[int] | None = Field(
        description="Workers the operator wanted per phase; null: no operator published a plan."
    )
    ready: list[int] | None = Field(description="Ready workers per phase, as the operator saw.")
    halts: int = Field(ge=0, description="Jobs halted in the minute before the sample.")
    halt_latency_ms: HaltLatency = Field(
        description="Percentiles of the halt latencies of running jobs in that minute; null "
        "where no running job was halted."
    )

    @classmethod
    def from_sample(cls, sample: Sample) -> HistorySample:
        latency = sample.halt_latency_ms
        return cls(
            at=sample.at_ms,
            users=sample.users,
            queued=sample.queued,
            running=sample.running,
            desired=sample.desired,
            ready=sample.ready,
            halts=sample.halts,
            halt_latency_ms=HaltLatency(
                p50=latency.get("p50"), p95=latency.get("p95"), p99=latency.get("p99")
            ),
        )


class HistoryResponse(ApiModel):
    minutes: int = Field(description="The window asked for.")
    samples: list[HistorySample] = Field(description="One per minute sampled, oldest first.")
    timestamp: int


class PlanPhase(ApiModel):
    name: str
    desired: int = Field(description="Worker replicas the planner asked for.")
    ready: int = Field(description="Replicas whose pods are ready.")
    budget: int = Field(description="The most replicas the phase's CPU budget holds.")
    reason: str | None = Field(description="Why the phase got what it got (the planner's reason).")
    cpu_allocated: str = Field(description="CPU the phase's workers hold (a Kubernetes quantity).")
    idle_users: int | None


class OperatorPlan(ApiModel):
    source: str = Field(description='The ErosProcessing followed ("namespace/name").')
    generation: int | None = Field(description="Its metadata.generation the plan followed.")
    at: int = Field(description="When the operator made the plan, epoch ms.")
    cpu_pool: str
    cpu_pool_millicores: int
    usable_millicores: int = Field(description="The pool less the headroom.")
    degraded: str | None = Field(description="Why metrics could not be read; null: they were.")
    phases: list[PlanPhase]

    @classmethod
    def from_record(cls, record: OperatorPlanRecord) -> OperatorPlan:
        return cls(
            source=record.source,
            generation=record.generation,
            at=record.at_ms,
            cpu_pool=record.cpu_pool,
            cpu_pool_millicores=record.cpu_pool_millicores,
            usable_millicores=record.usable_millicores,
            degraded=record.degraded,
            phases=[
                PlanPhase(
                    name=p.name,
                    desired=p.desired,
                    ready=p.ready,
                    budget=p.budget,
                    reason=p.reason,
                    cpu_allocated=p.cpu_allocated,
                    idle_users=p.idle_users,
                )
                for p in record.phases
            ],
        )


class PlanResponse(ApiModel):
    plan: OperatorPlan | None = Field(description="null while no operator has published one.")
    timestamp: int
