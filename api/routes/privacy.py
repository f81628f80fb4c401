"""Privacy rights: export everything EROS holds about oneself, and delete one's account.

Both share a small hourly limit of their own (`privacy_requests_per_hour`): an export
reads every table and scans Redis, and a deletion checks a password (an argon2 hash).
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from eros.api.deps import ClockDep, CurrentUser, DbDep, PhaseConfigDep, RedisDep, SettingsDep
from eros.api.errors import ERROR_RESPONSES, NotFound
from eros.api.halting import Halter
from eros.api.limits import SECONDS_PER_HOUR, charge
from eros.api.schemas.privacy import (
    DeletionRequest,
    DeletionResponse,
    ExportResponse,
    RedisData,
)
from eros.core.activity import refuse_heartbeats
from eros.core.clock import utc_from_ms
from eros.core.phases import Phase
from eros.core.privacy import (
    WITHHELD,
    check_password,
    delete_account,
    export_postgres,
    export_redis,
)
from eros.core.ratelimit import RateLimit
from eros.core.settings import Settings
from eros.pipeline.erasure import erase_user, forget_activity, wait_for_running_jobs

router = APIRouter(prefix="/users", tags=["privacy"], responses=ERROR_RESPONSES)

PRIVACY_SCOPE = "privacy"
# A halted job gets `halt_grace_seconds` to stop before its worker kills it; this much
# more covers the kill and the record of how it ended.
STOP_MARGIN_SECONDS = 2.0
NO_ACCOUNT = "This account no longer exists."


def _rule(settings: Settings) -> RateLimit:
    return RateLimit(PRIVACY_SCOPE, settings.privacy_requests_per_hour, SECONDS_PER_HOUR)


@router.get("/me/export", response_model=ExportResponse)
async def export_own_data(
    claims: CurrentUser, db: DbDep, redis: RedisDep, settings: SettingsDep, clock: ClockDep
) -> ExportResponse:
    """Everything EROS holds about the caller, as JSON: each table's rows of the caller
    (without password or token hashes) and what Redis keeps beyond caches."""
    now_ms = clock.now_ms()
    await charge(redis, _rule(settings), claims.user_id, now_ms)
    async with db.connection() as conn:
        tables = await export_postgres(conn, claims.user_id)
    if not tables["users"]:
        raise NotFound(NO_ACCOUNT)
    held = await export_redis(redis, claims.user_id)
    return ExportResponse(
        exported_at=utc_from_ms(now_ms),
        user_id=claims.user_id,
        postgres=tables,
        redis=RedisData(
            last_active_ms=held.last_active_ms,
            conversations=held.conversations,
            favourites=held.favourites,
            checkpoints=held.checkpoints,
            jobs=held.jobs,
        ),
        withheld=WITHHELD,
    )


@router.delete("/me", response_model=DeletionResponse)
async def delete_own_account(
    body: DeletionRequest,
    request: Request,
    claims: CurrentUser,
    db: DbDep,
    redis: RedisDep,
    settings: SettingsDep,
    clock: ClockDep,
    config: PhaseConfigDep,
) -> DeletionResponse:
    """Delete the caller's account and personal data, after checking their password.

    Halts the caller's jobs, then deletes the account from PostgreSQL and every trace of
    it from Redis. Reports filed by or against the caller are kept without the caller's
    id (docs/api.md#privacy). A suspended or banned account cannot delete itself (403).
    """
    user_id = claims.user_id
    now_ms = clock.now_ms()
    await charge(redis, _rule(settings), user_id, now_ms)
    async with db.connection() as conn:
        await check_password(conn, user_id, body.password)
    # The caller's access token outlives the account: its heartbeats are refused before
    # the account leaves the activity index, so that none puts it back.
    await refuse_heartbeats(redis, user_id, settings.access_token_ttl_seconds)
    # Out of the activity index first (so the scheduler enqueues nothing new), then halt
    # what is queued or running, and let running jobs record their end before erasing.
    await forget_activity(redis, user_id)
    halter: Halter = request.app.state.halter
    await halter.halt_user(user_id, now_ms)
    queues = [config.queue(phase) for phase in Phase if phase is not Phase.ACTIVE]
    await wait_for_running_jobs(
        redis, user_id, queues, settings.halt_grace_seconds + STOP_MARGIN_SECONDS
    )
    async with db.connection() as conn:
        deletion = await delete_account(conn, user_id)
    if deletion is None:
        raise NotFound(NO_ACCOUNT)
    await erase_user(redis, user_id)
    return DeletionResponse(
        reports_filed_kept=deletion.reports_filed_kept,
        reports_against_kept=deletion.reports_against_kept,
    )
