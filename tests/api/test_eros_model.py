"""`/eros/status` shows the population model every ranking scores with."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from fastapi.testclient import TestClient

from eros.core.matching import prior_model
from eros.core.population_model import save_version
from tests.conftest import Account
from tests.core.population_support import NOW, with_clients


def _status(client: TestClient, admin: Account) -> dict[str, Any]:
    response = client.get("/api/v1/eros/status", headers=admin.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_the_status_shows_no_model_before_the_first_fit_then_the_current_version(
    client: TestClient,
    make_account: Callable[..., Account],
    database_url: str,
    redis_url: str,
    db: psycopg.Connection[Any],
) -> None:
    admin = make_account(admin=True)
    assert _status(client, admin)["model"] is None

    async def fit(conn: Any, redis: Any) -> None:
        for _ in range(2):
            await save_version(
                conn, redis, prior_model(), examples=500, users=20, last_decision_id=9,
                fitted_at=NOW, fit_seconds=0.5,
            )  # fmt: skip

    with_clients(database_url, redis_url, fit)

    assert _status(client, admin)["model"] == {
        "version": 2,
        "examples": 500,
        "users": 20,
        "fittedAt": int(NOW.timestamp() * 1000),
        "fitSeconds": 0.5,
        "inUse": True,
    }
