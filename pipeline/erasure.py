"""Erasing a member from Redis: every key and member that names them (docs/api.md#privacy).

What Redis holds about a member is either named by their id (caches, checkpoints, the job
index, conversations, rate limits, Claude budgets, and RQ's job hashes, results and
executions, whose job ids hold the id in hex), or a member of a shared collection: the
activity sorted set (the id's 16 bytes), RQ's queues and registries (job ids) and the
recent-halts list (JSON naming job ids). Other members' cached recommendations, daily
matches and favourites may list the member too; those caches are dropped, to be computed
again from PostgreSQL, which no longer knows the member.

Nothing indexes all of that, so erasure is one SCAN of the key space (plus a ZSCAN or
SSCAN of each shared collection and a GET of each such cache): seconds at millions of
keys, paid once per deletion, in small steps that never block Redis for long. Only keys
under EROS's and RQ's prefixes are touched.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from uuid import UUID

import redis.asyncio as aredis

from eros.core.keys import (
    ACTIVITY_KEY,
    DAILY_MATCHES_CACHE_PREFIX,
    FAVOURITES_CACHE_PREFIX,
    RECENT_HALTS_KEY,
    RECOMMENDATIONS_CACHE_PREFIX,
)
from eros.pipeline.rq_internals import JOB_KEY_PREFIX, started_key

logger = logging.getLogger(__name__)

__all__ = ["erase_user", "forget_activity", "wait_for_running_jobs"]

# Keys of other applications sharing the Redis are never touched.
OWNED_PREFIXES = (b"eros:", b"rq:")
# Other members' caches that may list the member; recomputed from PostgreSQL on a miss.
LISTING_CACHE_PREFIXES = tuple(
    p.encode()
    for p in (RECOMMENDATIONS_CACHE_PREFIX, DAILY_MATCHES_CACHE_PREFIX, FAVOURITES_CACHE_PREFIX)
)
SCAN_COUNT = 1000
# Keys deleted or read per round trip.
BATCH_KEYS = 500
STOP_POLL_SECONDS = 0.05


def _needles(user_id: UUID) -> tuple[bytes, ...]:
    """The member's id as it appears in keys and values: text, hex (job ids), raw bytes."""
    return (str(user_id).encode(), user_id.hex.encode(), user_id.bytes)


def _mentions(value: bytes | str, needles: Sequence[bytes]) -> bool:
    raw = value.encode() if isinstance(value, str) else value
    return any(needle in raw for needle in needles)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def forget_activity(client: aredis.Redis, user_id: UUID) -> None:
    """Drop the member from the activity index first, so that the scheduler enqueues no
    new job for them (its enqueue checks the activity score). Raises Redis' errors."""
    await client.zrem(ACTIVITY_KEY, user_id.bytes)


async def _running_jobs(client: aredis.Redis, user_id: UUID, queues: Sequence[str]) -> int:
    found = 0
    for queue in queues:
        async for _ in client.zscan_iter(started_key(queue), match=f"*{user_id.hex}*"):
            found += 1
    return found


async def wait_for_running_jobs(
    client: aredis.Redis, user_id: UUID, queues: Sequence[str], timeout_seconds: float
) -> bool:
    """Wait until none of the member's jobs is running (a halted job records how it ended
    when it stops; erasing before that would let the record reappear). False on timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_seconds
    while await _running_jobs(client, user_id, queues):
        if loop.time() >= deadline:
            logger.warning("A deleted member's job was still running when erasure began.")
            return False
        await asyncio.sleep(STOP_POLL_SECONDS)
    return True


async def erase_user(client: aredis.Redis, user_id: UUID) -> None:
    """Delete every key naming the member and remove them from every shared collection."""
    needles = _needles(user_id)
    named: list[bytes] = []
    caches: list[bytes] = []
    shared: list[bytes] = []
    async for key in client.scan_iter(count=SCAN_COUNT):
        if not key.startswith(OWNED_PREFIXES):
            continue
        if _mentions(key, needles):
            named.append(key)
        elif key.startswith(LISTING_CACHE_PREFIXES):
            caches.append(key)
        elif not key.startswith(JOB_KEY_PREFIX.encode()):
            # Other members' job hashes never name the member; everything else may.
            shared.append(key)
    job_ids = [
        k[len(JOB_KEY_PREFIX) :].decode() for k in named if k.startswith(JOB_KEY_PREFIX.encode())
    ]
    stale = await _listing_caches(client, caches, needles)
    removed = await _remove_members(client, shared, needles, job_ids, user_id)
    doomed = named + stale
    for first in range(0, len(doomed), BATCH_KEYS):
        await client.unlink(*doomed[first : first + BATCH_KEYS])
    logger.info(
        "Erased a member from Redis: %d keys deleted, %d members removed.", len(doomed), removed
    )


async def _listing_caches(
    client: aredis.Redis, keys: list[bytes], needles: Sequence[bytes]
) -> list[bytes]:
    stale: list[bytes] = []
    for first in range(0, len(keys), BATCH_KEYS):
        batch = keys[first : first + BATCH_KEYS]
        values = await client.mget(batch)
        stale += [k for k, v in zip(batch, values, strict=True) if v and _mentions(v, needles)]
    return stale


async def _remove_members(
    client: aredis.Redis,
    keys: list[bytes],
    needles: Sequence[bytes],
    job_ids: list[str],
    user_id: UUID,
) -> int:
    types: list[bytes] = []
    for first in range(0, len(keys), BATCH_KEYS):
        async with client.pipeline(transaction=False) as pipe:
            for key in keys[first : first + BATCH_KEYS]:
                pipe.type(key)
            types += await pipe.execute()
    removed = 0
    pattern = f"*{user_id.hex}*"
    for key, kind in zip(keys, types, strict=True):
        if kind == b"zset":
            members = [m async for m, _ in client.zscan_iter(key, match=pattern)]
            # Activity-style sets name members by their raw 16-byte id.
            members.append(user_id.bytes)
            removed += int(await client.zrem(key, *members)) if members else 0
        elif kind == b"set":
            members = [m async for m in client.sscan_iter(key, match=pattern)]
            removed += int(await client.srem(key, *members)) if members else 0
        elif kind == b"list":
            removed += await _remove_from_list(client, key, needles, job_ids)
    return removed


async def _remove_from_list(
    client: aredis.Redis, key: bytes, needles: Sequence[bytes], job_ids: list[str]
) -> int:
    if key == RECENT_HALTS_KEY.encode():
        # Capped (eros.pipeline.halt.RECENT_HALTS_MAX), so read whole; entries are JSON.
        raw = await client.lrange(key, 0, -1)
        entries = [_text(e) for e in raw if _mentions(e, needles)]
    else:
        # Queues hold job ids, possibly many: remove the member's by value.
        entries = job_ids
    removed = 0
    for entry in entries:
        removed += int(await client.lrem(key, 0, entry))
    return removed
