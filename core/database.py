"""PostgreSQL connections (psycopg 3): the API's pool, and one connection per phase job."""

from __future__ import annotations

from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from eros.core.settings import Settings

POOL_TIMEOUT_SECONDS = 5.0
CONNECT_TIMEOUT_SECONDS = 5
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
