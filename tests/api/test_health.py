from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.conftest import Account, RedisServer


def test_liveness_answers_without_touching_anything(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readiness_is_ok_when_redis_and_postgres_answer(client: TestClient) -> None:
    body = client.get("/api/v1/health").json()
    assert body["status"] == "ok"
    assert body["redis"]["ok"] and body["database"]["ok"]


def test_readiness_is_503_while_redis_is_down_and_recovers_when_it_returns(
    client: TestClient, redis_server: RedisServer
) -> None:
    redis_server.stop()
    try:
        down = client.get("/api/v1/health")
        assert down.status_code == 503
        assert down.json()["redis"]["ok"] is False
        assert down.json()["database"]["ok"] is True
        # Liveness stays green: a Redis outage must not get API pods restarted.
        assert client.get("/health").status_code == 200
    finally:
        redis_server.start()
    assert client.get("/api/v1/health").status_code == 200


def test_a_heartbeat_while_redis_is_down_is_a_503_not_a_500(
    client: TestClient, redis_server: RedisServer, make_account: Callable[..., Account]
) -> None:
    account = make_account()
    redis_server.stop()
    try:
        response = client.post(
            "/api/v1/heartbeat", json={"appActive": True, "screenOn": True}, headers=account.headers
        )
        assert response.status_code == 503
        assert response.json()["code"] == "service_unavailable"
    finally:
        redis_server.start()
    ok = client.post(
        "/api/v1/heartbeat", json={"appActive": True, "screenOn": True}, headers=account.headers
    )
    assert ok.status_code == 200


def test_detailed_health_is_for_admins(
    client: TestClient, make_account: Callable[..., Account]
) -> None:
    admin = make_account(admin=True)
    body = client.get("/api/v1/health/detailed", headers=admin.headers).json()
    assert body["status"] == "ok"
    assert body["redisVersion"] and body["postgresVersion"]
    assert len(body["usersPerPhase"]) == 4
    assert body["pool"]["maxSize"] == 4
    user = make_account()
    assert client.get("/api/v1/health/detailed", headers=user.headers).status_code == 403


def test_metrics_are_labelled_by_route_template(
    client: TestClient, make_account: Callable[..., Account]
) -> None:
    account = make_account()
    client.post(
        "/api/v1/heartbeat", json={"appActive": True, "screenOn": True}, headers=account.headers
    )
    text = client.get("/metrics").text
    assert 'eros_http_requests_total{method="POST",route="/api/v1/heartbeat",status="200"}' in text
    assert "eros_heartbeats_total" in text
    assert 'eros_users_per_phase{phase="0"}' in text
