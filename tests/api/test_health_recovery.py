"""Readiness after PostgreSQL restarts, against a PostgreSQL of the module's own: the session's
one is shared by every test and must never go down."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from eros.api.app import create_app
from eros.core.clock import ManualClock
from eros.core.database import AsyncPool
from eros.core.embedded import EmbeddedPostgres
from eros.core.migrate import apply_migrations
from eros.core.settings import Settings

POOL_SIZE = 3
# Generous: the pool gives up its reconnection attempts after a couple of seconds.
GIVE_UP_DEADLINE_SECONDS = 60.0
POLL_SECONDS = 0.05


@pytest.fixture(scope="module")
def postgres() -> Iterator[EmbeddedPostgres]:
    if os.environ.get("EROS_DATABASE_URL"):
        pytest.skip("the suite runs against an external PostgreSQL")
    data_dir = Path(tempfile.mkdtemp(prefix="eros-test-restarted-postgres-"))
    server = EmbeddedPostgres(data_dir / "postgres")
    server.start()
    try:
        apply_migrations(server.url)
        yield server
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def client(
    settings: Settings, postgres: EmbeddedPostgres, clock: ManualClock, redis_client: redis.Redis
) -> Iterator[TestClient]:
    postgres.start()  # a failed test may have left it stopped
    own = settings.model_copy(
        update={
            "database_url": postgres.url,
            "db_pool_min_size": POOL_SIZE,
            "db_pool_max_size": POOL_SIZE,
        }
    )
    app = create_app(own, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        pool: AsyncPool = app.state.db
        # Every pooled connection open before the restart, so that all of them go stale.
        assert test_client.portal is not None
        test_client.portal.call(pool.wait)
        yield test_client


def _pool_size(client: TestClient) -> int:
    pool: AsyncPool = client.app.state.db  # type: ignore[attr-defined]
    return int(pool.get_stats()["pool_size"])


def test_readiness_is_ok_on_the_first_probe_after_postgres_restarts(
    client: TestClient, postgres: EmbeddedPostgres
) -> None:
    assert client.get("/api/v1/health").status_code == 200
    postgres.stop()
    postgres.start()
    # Every idle connection died with the old server; the probe must not fail once per each.
    response = client.get("/api/v1/health")
    assert response.status_code == 200, response.text
    assert response.json()["database"]["ok"] is True


def test_readiness_is_ok_on_the_first_probe_after_an_outage_longer_than_the_pools_back_off(
    client: TestClient, postgres: EmbeddedPostgres
) -> None:
    postgres.stop()
    try:
        down = client.get("/api/v1/health")
        assert down.status_code == 503
        assert down.json()["database"]["ok"] is False
        assert down.json()["redis"]["ok"] is True
        # Once the pool stops retrying on its own, only a probe or a request can bring it
        # back: the next one must start a fresh attempt at once, not wait out a back-off.
        deadline = time.monotonic() + GIVE_UP_DEADLINE_SECONDS
        while _pool_size(client) > 0:
            assert time.monotonic() < deadline, "the pool kept retrying with growing delays"
            time.sleep(POLL_SECONDS)
    finally:
        postgres.start()
    response = client.get("/api/v1/health")
    assert response.status_code == 200, response.text
    assert _pool_size(client) >= 1
