"""The job pipeline's status: scheduler, queues, workers, halts (administrators)."""

from __future__ import annotations

from fastapi import APIRouter

from eros.api.deps import AdminUser, ClockDep, DbDep, PhaseConfigDep, RedisDep
from eros.api.errors import ERROR_RESPONSES
from eros.api.schemas.eros import (
    ErosStatus,
    FollowerStatus,
    HaltEntry,
    PhaseConfigStatus,
    PhaseStatus,
    PopulationModelStatus,
    SchedulerStatus,
)
from eros.core.population_model import StoredModel, load_stored
from eros.pipeline.status import read_status

router = APIRouter(prefix="/eros", tags=["eros"], responses=ERROR_RESPONSES)


def _model_status(stored: StoredModel | None) -> PopulationModelStatus | None:
    if stored is None:
        return None
    info = stored.info
    return PopulationModelStatus(
        version=info.version,
        examples=info.examples,
        users=info.users,
        fitted_at=int(info.fitted_at.timestamp() * 1000),
        fit_seconds=info.fit_seconds,
        in_use=stored.model is not None,
    )


@router.get("/status", response_model=ErosStatus)
async def eros_status(
    _: AdminUser, redis: RedisDep, db: DbDep, config: PhaseConfigDep, clock: ClockDep
) -> ErosStatus:
    now_ms = clock.now_ms()
    status = await read_status(redis, config, now_ms)
    async with db.connection() as conn:
        stored = await load_stored(conn, redis)
    return ErosStatus(
        scheduler=SchedulerStatus.from_view(status.scheduler),
        phases=[
            PhaseStatus(
                phase=view.phase,
                queue=view.queue,
                queued=view.queued,
                running=view.running,
                workers=view.workers,
                watermark=view.watermark_ms,
                lag_ms=view.lag_ms,
                off_peak=view.off_peak,
                in_window=view.in_window,
            )
            for view in status.phases
        ],
        recent_halts=[
            HaltEntry(
                job_id=halt.job_id,
                user_id=halt.user_id,
                phase=halt.phase,
                state=halt.state,
                received_at=halt.received_at_ms,
            )
            for halt in status.recent_halts
        ],
        config=PhaseConfigStatus(
            source=config.source,
            generation=config.generation,
            idle_seconds=list(config.idle_seconds),
            queues=list(config.queues),
            off_peak=[str(window) if window else None for window in config.windows],
            time_zone=config.time_zone,
            cpu_budget_percent=list(config.cpu_budget_percent),
            priority=list(config.priority),
            paused=config.paused,
        ),
        followers=[
            FollowerStatus(
                component=follower.component,
                source=follower.source,
                generation=follower.generation,
                seen_at=follower.seen_at_ms,
            )
            for follower in status.followers
        ],
        model=_model_status(stored),
        timestamp=now_ms,
    )
