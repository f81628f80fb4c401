"""The operator's `/healthz`: fresh on every request, failing only when a probe fails."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from http import HTTPStatus
from typing import Any

import pytest

from eros.operator.health import HealthServer, answer
from eros.operator.runtime import StuckDaemon


def stuck() -> dict[str, float]:
    raise StuckDaemon("No tick for too long: dating/eros.")


def test_every_probe_is_in_the_answer() -> None:
    status, body = answer({"ticks": lambda: {"dating/eros": 1.5}, "problems": dict})
    assert status is HTTPStatus.OK
    assert json.loads(body) == {"ticks": {"dating/eros": 1.5}, "problems": {}}


def test_a_failing_probe_fails_the_answer_and_says_why() -> None:
    status, body = answer({"problems": dict, "ticks": stuck})
    assert status is HTTPStatus.INTERNAL_SERVER_ERROR
    assert body.decode() == "ticks: No tick for too long: dating/eros.\n"


@pytest.fixture
def served() -> Any:
    problems: dict[str, str] = {}
    server = HealthServer(0, {"problems": lambda: dict(problems)}, host="127.0.0.1")
    server.start()
    yield server, problems
    server.stop()


def get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_a_new_problem_is_served_by_the_very_next_request(served: Any) -> None:
    server, problems = served
    assert get(server.port, "/healthz") == (200, b'{"problems": {}}')
    problems["dating/eros"] = "SecretForbidden: may not get Secret dating/eros-redis."
    code, body = get(server.port, "/healthz")
    assert code == 200
    assert json.loads(body)["problems"] == problems


def test_other_paths_are_not_found(served: Any) -> None:
    server, _ = served
    assert get(server.port, "/metrics")[0] == 404
