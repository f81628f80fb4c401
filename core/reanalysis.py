"""Re-analysis after a profile change: the save restarts the user's idle clock.

A profile save sets `profiles.analysis_requested_at` (`eros.core.profiles.save_profile`);
this module makes the pipeline act on it. The scheduler enqueues one job per (user,
phase, idle period) and names the period by the user's last activity, so a period whose
phase 3 already ran is never analysed again, however its profile changed (the job ids
exist, and phase 3 reuses the period's stored preferences). A save is the user acting,
so it moves their last activity to the save time, as a heartbeat would: the phases then
cross again from the save, in a new idle period with new job ids, and phase 3 analyses
the new profile and clears the flag. Only tracked users (with an activity entry, i.e.
who ever sent a heartbeat) are moved: one who never did is not scheduled at all.
"""

from __future__ import annotations

import logging
from uuid import UUID

import redis
import redis.asyncio as aredis

from eros.core.keys import ACTIVITY_KEY

logger = logging.getLogger(__name__)

__all__ = ["schedule_reanalysis"]


async def schedule_reanalysis(client: aredis.Redis, user_id: UUID, saved_at_ms: int) -> bool:
    """Restart the user's idle clock at `saved_at_ms`; False when it already ran later
    (a later heartbeat), the user is not tracked, or Redis is unavailable."""
    try:
        # XX: never start tracking someone; GT: a late save never moves activity back.
        moved = bool(
            await client.zadd(ACTIVITY_KEY, {user_id.bytes: saved_at_ms}, xx=True, gt=True, ch=True)
        )
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
        # The save is committed and its flag set: the user's next heartbeat and idle
        # period analyse the new profile anyway, so the write does not fail for this.
        logger.warning(
            "Could not restart the idle clock of user %s: Redis is unavailable.", user_id
        )
        return False
    if moved:
        logger.info(
            "Restarted the idle clock of user %s at their profile save, for a re-analysis.",
            user_id,
        )
    return moved
