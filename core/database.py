"""PostgreSQL connections (psycopg 3): the API's pool, and one connection per phase job."""

from __future__ import annotations

import asyncio

from psycopg import AsyncConnection, OperationalError
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from eros.core.settings import Settings

POOL_TIMEOUT_SECONDS = 5.0
CONNECT_TIMEOUT_SECONDS = 5
# psycopg_pool doubles its reconnection delay from 1 s for as long as `reconnect_timeout`
# (5 min by default), so after a long outage its next attempt could be minutes away and the
# API stayed unready that long after PostgreSQL returned. Giving up after 2 s keeps every
# delay around a second; the pool then shrinks, and the next request (a readiness probe
# included) starts a fresh attempt at once.
RECONNECT_TIMEOUT_SECONDS = 2.0
# Rows come back as dicts everywhere so that queries read by column name.
_CONNECTION_KWARGS = {"row_factory": dict_row, "connect_timeout": CONNECT_TIMEOUT_SECONDS}

AsyncPool = AsyncConnectionPool[AsyncConnection[DictRow]]


def require_database_url(settings: Settings) -> str:
    if not settings.database_url:
        raise RuntimeError("EROS_DATABASE_URL is not set (run `eros dev` for an embedded one)")
    return settings.database_url


def async_pool(settings: Settings) -> AsyncPool:
    """A pool that is not open yet; the caller opens it (`await pool.open()`)."""
    return AsyncConnectionPool(
        require_database_url(settings),
        connection_class=AsyncConnection[DictRow],
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
        timeout=POOL_TIMEOUT_SECONDS,
        reconnect_timeout=RECONNECT_TIMEOUT_SECONDS,
        kwargs=_CONNECTION_KWARGS,
        open=False,
        name="eros-api",
    )


async def connect(settings: Settings) -> AsyncConnection[DictRow]:
    """One autocommit connection, for a phase job: its loop lives only as long as the job, so
    a pool would not outlive it. Use it as `async with await connect(settings) as conn:`."""
    return await AsyncConnection.connect(
        require_database_url(settings),
        autocommit=True,
        row_factory=dict_row,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
    )


async def _select_one(pool: AsyncPool) -> None:
    async with pool.connection() as conn:
        await conn.execute("SELECT 1")


async def ping(pool: AsyncPool) -> None:
    """One round trip through the pool. A pooled connection found dead died with the server it
    knew, and so did its idle siblings: the pool replaces them all before one more try, rather
    than failing one call per stale connection after PostgreSQL restarts."""
    try:
        await _select_one(pool)
    except OperationalError:
        # Shielded: a cancelled drain would leave connections counted but gone.
        await asyncio.shield(pool.drain())
        await _select_one(pool)
