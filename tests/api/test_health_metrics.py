"""`eros_api_dependency_up`: each readiness check leaves in /metrics whether Redis and
PostgreSQL answered it, for the Redis and PostgreSQL alerts (docs/runbooks.md)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import RedisServer


def _dependencies_up(client: TestClient) -> dict[str, float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    return {
        sample.labels["dependency"]: sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == "eros_api_dependency_up"
    }


def test_a_readiness_check_reports_both_dependencies_up(client: TestClient) -> None:
    assert client.get("/api/v1/health").status_code == 200
    assert _dependencies_up(client) == {"redis": 1.0, "postgresql": 1.0}


def test_redis_shows_down_while_it_is_and_up_again_after_the_next_check(
    client: TestClient, redis_server: RedisServer
) -> None:
    redis_server.stop()
    try:
        assert client.get("/api/v1/health").status_code == 503
        assert _dependencies_up(client) == {"redis": 0.0, "postgresql": 1.0}
    finally:
        redis_server.start()
    assert client.get("/api/v1/health").status_code == 200
    assert _dependencies_up(client) == {"redis": 1.0, "postgresql": 1.0}
