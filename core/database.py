"""PostgreSQL connection pools (psycopg 3)."""

from __future__ import annotations

from psycopg import AsyncConnection, Connection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from eros.core.settings import Settings

POOL_TIMEOUT_SECONDS = 5.0
CONNECT_TIMEOUT_SECONDS = 5
# Rows come back as dicts everywhere so that queries read by column name.
_CONNECTION_KWARGS = {"row_factory": dict_row, "connect_timeout": CONNECT_TIMEOUT_SECONDS}

AsyncPool = AsyncConnectionPool[AsyncConnection[DictRow]]
SyncPool = ConnectionPool[Connection[DictRow]]


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


def sync_pool(settings: Settings, *, max_size: int = 4) -> SyncPool:
    return ConnectionPool(
        require_database_url(settings),
        connection_class=Connection[DictRow],
        min_size=1,
        max_size=max_size,
        timeout=POOL_TIMEOUT_SECONDS,
        kwargs=_CONNECTION_KWARGS,
        open=False,
        name="eros-sync",
    )
