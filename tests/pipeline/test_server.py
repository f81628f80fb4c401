"""The scheduler's and workers' /metrics, /healthz and /readyz."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from prometheus_client import CollectorRegistry, Counter

from eros.pipeline.metrics import SCHEDULER_REGISTRY
from eros.pipeline.server import ProbeServer
from tests.conftest import free_port


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.parametrize("alive", [True, False])
def test_healthz_reports_whether_the_main_loop_turns(alive: bool) -> None:
    scrapes: list[int] = []
    server = ProbeServer(
        "127.0.0.1",
        free_port(),
        registry=SCHEDULER_REGISTRY,
        live=lambda: alive,
        before_scrape=lambda: scrapes.append(1),
    )
    server.start()
    try:
        assert _get(server.port, "/healthz")[0] == (200 if alive else 503)
        # Without a readiness of its own, a process is ready while it is alive.
        assert _get(server.port, "/readyz")[0] == (200 if alive else 503)
        status, body = _get(server.port, "/metrics")
        assert status == 200
        assert "eros_jobs_enqueued_total" in body
        assert scrapes == [1]
        assert _get(server.port, "/other")[0] == 404
    finally:
        server.stop()


def test_readyz_turns_unready_while_healthz_stays_alive() -> None:
    draining = False
    server = ProbeServer(
        "127.0.0.1",
        free_port(),
        registry=SCHEDULER_REGISTRY,
        live=lambda: True,
        ready=lambda: not draining,
    )
    server.start()
    try:
        assert _get(server.port, "/readyz") == (200, "ready\n")
        draining = True
        assert _get(server.port, "/readyz") == (503, "not ready\n")
        assert _get(server.port, "/healthz") == (200, "ok\n")
    finally:
        server.stop()


def test_metrics_serves_only_the_given_registry() -> None:
    registry = CollectorRegistry()
    Counter("eros_only_mine_total", "A series of this registry.", registry=registry).inc()
    server = ProbeServer("127.0.0.1", free_port(), registry=registry, live=lambda: True)
    server.start()
    try:
        body = _get(server.port, "/metrics")[1]
        assert "eros_only_mine_total 1.0" in body
        assert "eros_jobs_enqueued_total" not in body
    finally:
        server.stop()
