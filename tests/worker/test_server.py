"""The scheduler's and workers' /metrics and /healthz."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from eros.worker.server import ProbeServer
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
        "127.0.0.1", free_port(), live=lambda: alive, before_scrape=lambda: scrapes.append(1)
    )
    server.start()
    try:
        assert _get(server.port, "/healthz")[0] == (200 if alive else 503)
        status, body = _get(server.port, "/metrics")
        assert status == 200
        assert "eros_jobs_enqueued_total" in body
        assert scrapes == [1]
        assert _get(server.port, "/other")[0] == 404
    finally:
        server.stop()
