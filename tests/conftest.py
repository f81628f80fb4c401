"""Shared fixtures: real embedded Valkey and PostgreSQL, started once per test session.

Set EROS_REDIS_URL / EROS_DATABASE_URL to run the suite against servers of your own
(tests that stop and restart a server are then skipped).
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from fastapi.testclient import TestClient

from eros.api.app import create_app
from eros.core.accounts import set_role
from eros.core.clock import ManualClock
from eros.core.embedded import EmbeddedPostgres, EmbeddedValkey
from eros.core.migrate import apply_migrations
from eros.core.settings import Settings
from eros.core.tokens import Role
from tests.control_plane import (
    CONTROL_PLANE_ENV,
    REQUIRE_KUBE_ENV,
    ControlPlane,
    control_plane_script,
)

# The job pipeline's fixtures, for the pipeline's, the worker's and the operator's tests.
pytest_plugins = ["tests.pipeline.fixtures"]

TEST_JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
TEST_ACCESS_TOKEN_TTL_SECONDS = 7 * 24 * 3600


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RedisServer:
    """The session's Redis; `stop()` and `start()` restart it on the same port, data kept."""

    url: str
    embedded: EmbeddedValkey | None

    def stop(self) -> None:
        if self.embedded is None:
            pytest.skip("cannot stop an external Redis")
        self.embedded.stop()

    def start(self) -> None:
        if self.embedded is None:
            pytest.skip("cannot start an external Redis")
        if not self.embedded.running:
            self.embedded.start()


@pytest.fixture(scope="session")
def servers_dir() -> Iterator[Path]:
    """Where the embedded servers keep their data. Not pytest's numbered basetemp: pytest
    deletes all but the newest few of those, including a concurrent session's live ones."""
    path = Path(tempfile.mkdtemp(prefix="eros-test-servers-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server(servers_dir: Path) -> Iterator[RedisServer]:
    external = os.environ.get("EROS_REDIS_URL")
    if external:
        yield RedisServer(external, None)
        return
    server = EmbeddedValkey(servers_dir / "valkey", port=free_port())
    server.start()
    try:
        yield RedisServer(server.url, server)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url


@pytest.fixture
def redis_client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    redis_server.start()  # a previous test may have left it stopped
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    yield client
    client.close()


@pytest.fixture(scope="session")
def database_url(servers_dir: Path) -> Iterator[str]:
    external = os.environ.get("EROS_DATABASE_URL")
    if external:
        apply_migrations(external)
        yield external
        return
    server = EmbeddedPostgres(servers_dir / "postgres", delete_on_stop=True)
    server.start()
    try:
        apply_migrations(server.url)
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def db(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection to a database emptied of everything but its schema."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'schema_migrations'"
            )
        ]
        if tables:
            conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE")
        yield conn


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def settings(redis_url: str, database_url: str) -> Settings:
    return Settings(
        environment="test",
        redis_url=redis_url,
        database_url=database_url,
        jwt_secret=TEST_JWT_SECRET,
        # Tests move the clock by hours; tokens outlive that unless a test is about expiry.
        access_token_ttl_seconds=TEST_ACCESS_TOKEN_TTL_SECONDS,
        db_pool_min_size=1,
        db_pool_max_size=4,
        _env_file=None,
    )


@pytest.fixture
def client(
    settings: Settings, clock: ManualClock, redis_client: redis.Redis, db: Any
) -> Iterator[TestClient]:
    app = create_app(settings, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@dataclass
class Account:
    id: str
    email: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


@pytest.fixture
def make_account(client: TestClient, database_url: str) -> Callable[..., Account]:
    counter = iter(range(1, 1_000_000))

    def make(*, admin: bool = False, email: str | None = None) -> Account:
        email = email or f"user{next(counter)}@example.com"
        response = client.post(
            "/api/v1/auth/register",
            json={"email": email, "password": "correct horse battery", "name": "Test User"},
        )
        # Registration answers alike for new and taken addresses; tokens come from login.
        assert response.status_code == 202, response.text
        if admin:
            assert set_role(database_url, email, Role.ADMIN)
        login = client.post(
            "/api/v1/auth/login", json={"email": email, "password": "correct horse battery"}
        )
        assert login.status_code == 200, login.text
        body = login.json()
        return Account(body["user"]["id"], email, body["accessToken"], body["refreshToken"])

    return make


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def control_plane(servers_dir: Path) -> Iterator[ControlPlane]:
    """A real kube-apiserver (with etcd and the controller manager), once per session."""
    # CI sets REQUIRE_KUBE_ENV, so that a missing control plane fails there instead of
    # silently skipping the whole tier.
    missing = pytest.fail if os.environ.get(REQUIRE_KUBE_ENV) else pytest.skip
    script = control_plane_script()
    if script is None:
        missing(
            f"no Kubernetes control plane binaries: set {CONTROL_PLANE_ENV} to the folder "
            "holding `control-plane` and `bin/` (by default ../shared/kube)"
        )
    if shutil.which("kubectl") is None:
        missing("kubectl is not installed")
    assert script is not None
    plane = ControlPlane.start(script, servers_dir / "kube")
    try:
        yield plane
    finally:
        plane.stop()


@pytest.fixture(scope="session")
def eros_crds(control_plane: ControlPlane, repo_root: Path) -> ControlPlane:
    """The control plane with the project's CRDs applied, as `kubectl apply -f crds/` does."""
    control_plane.kubectl("apply", "-f", str(repo_root / "crds"))
    control_plane.kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd", "--all")
    return control_plane
