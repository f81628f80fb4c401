"""A whole EROS of the drill's own: embedded Valkey and PostgreSQL in a temporary folder and a
real `eros api` process (uvicorn) over them, each of which a drill may kill with SIGKILL and
start again. The session's servers are never touched."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID, uuid4

import httpx
import psutil
import psycopg

from eros.core.embedded import EmbeddedPostgres, EmbeddedValkey
from eros.core.migrate import apply_migrations
from eros.core.tokens import Role, issue_access_token
from tests.conftest import TEST_ACCESS_TOKEN_TTL_SECONDS, TEST_JWT_SECRET, free_port
from tests.pipeline.fixtures import wait_until

# Generous: the machine is shared, and PostgreSQL replays its WAL after a SIGKILL.
START_TIMEOUT_SECONDS = 60.0
PROBE_TIMEOUT_SECONDS = 2.0
STOP_TIMEOUT_SECONDS = 15.0
# The drill's load must never be refused for its rate: it measures durability, not limits.
UNLIMITED = str(1_000_000_000)


@dataclass(frozen=True)
class DrillUser:
    id: UUID
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class ApiProcess:
    """`eros api` as a pod runs it; its logs in a file, for the failure messages."""

    def __init__(self, env: dict[str, str], log: Path, repo_root: Path) -> None:
        self.port = free_port()
        self._env = env
        self._log = log
        self._repo_root = repo_root
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self._log.open("ab") as out:
            self._process = subprocess.Popen(
                [sys.executable, "-P", "-m", "eros.cli.main", "api", "--port", str(self.port)],
                cwd=self._repo_root,
                env=self._env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(self.ready, timeout=START_TIMEOUT_SECONDS, what="the API to be ready")

    def ready(self) -> bool:
        """Readiness as a load balancer asks it: both backing services answer."""
        if self._process is not None and self._process.poll() is not None:
            raise AssertionError(f"the API exited:\n{self.logs()}")
        try:
            response = httpx.get(f"{self.url}/api/v1/health", timeout=PROBE_TIMEOUT_SECONDS)
        except httpx.TransportError:
            return False
        return response.status_code == 200

    def kill(self) -> None:
        """SIGKILL, with requests in flight: no shutdown handler runs."""
        assert self._process is not None
        self._process.kill()
        self._process.wait(STOP_TIMEOUT_SECONDS)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(STOP_TIMEOUT_SECONDS)

    def logs(self) -> str:
        return self._log.read_text(errors="replace")


class DrillStack:
    """Valkey, PostgreSQL (migrated) and the API, all of the drill's own."""

    def __init__(self, directory: Path, repo_root: Path) -> None:
        self.directory = directory
        self.valkey = EmbeddedValkey(directory / "valkey", port=free_port())
        self.postgres = EmbeddedPostgres(directory / "postgres", delete_on_stop=True)
        self._repo_root = repo_root
        self.api: ApiProcess | None = None

    def start(self) -> None:
        self.valkey.start()
        self.postgres.start()
        apply_migrations(self.postgres.url)
        self.api = ApiProcess(self.env(), self.directory / "api.log", self._repo_root)
        self.api.start()

    def stop(self) -> None:
        try:
            if self.api is not None:
                self.api.stop()
        finally:
            try:
                self.postgres.stop()
            finally:
                self.valkey.stop()

    @property
    def redis_url(self) -> str:
        return self.valkey.url

    @property
    def database_url(self) -> str:
        return self.postgres.url

    @property
    def api_process(self) -> ApiProcess:
        assert self.api is not None, "the stack has not been started"
        return self.api

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "EROS_ENVIRONMENT": "test",
            "EROS_JWT_SECRET": TEST_JWT_SECRET,
            "EROS_REDIS_URL": self.redis_url,
            "EROS_DATABASE_URL": self.database_url,
            "EROS_LOG_FORMAT": "text",
            "EROS_LOG_LEVEL": "INFO",
            "EROS_RATE_LIMIT_WRITES_PER_MINUTE": UNLIMITED,
            "EROS_RATE_LIMIT_REPORTS_PER_HOUR": UNLIMITED,
        }

    def make_users(self, count: int) -> list[DrillUser]:
        """Accounts straight in PostgreSQL, with access tokens: registration is not drilled,
        and its throttling would only slow the drill down."""
        users = [uuid4() for _ in range(count)]
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            for user_id in users:
                conn.execute(
                    "INSERT INTO users (id, email, password_hash, name) VALUES (%s, %s, %s, %s)",
                    (user_id, f"{user_id}@drill.example.com", "not-a-hash", "Drill User"),
                )
        now_s = int(time.time())
        return [
            DrillUser(
                user_id,
                issue_access_token(
                    user_id,
                    Role.USER,
                    secret=TEST_JWT_SECRET,
                    now_s=now_s,
                    ttl_seconds=TEST_ACCESS_TOKEN_TTL_SECONDS,
                ),
            )
            for user_id in users
        ]

    def kill_valkey(self) -> None:
        pid = self.valkey.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not self.valkey.alive, what="Valkey to die")

    def restart_valkey(self) -> None:
        self.valkey.restart()

    def kill_postgres(self) -> None:
        """The postmaster and every backend at once, as when its container is OOM-killed."""
        pid = self.postgres.pid
        assert pid is not None
        postmaster = psutil.Process(pid)
        for process in [*postmaster.children(recursive=True), postmaster]:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        wait_until(lambda: not self.postgres.alive, what="PostgreSQL to die")

    def restart_postgres(self) -> None:
        def restarted() -> bool:
            try:
                self.postgres.restart()
            except Exception:  # a backend may hold the old shared memory for a moment
                return False
            return self.postgres.alive

        wait_until(restarted, timeout=START_TIMEOUT_SECONDS, what="PostgreSQL to restart")
