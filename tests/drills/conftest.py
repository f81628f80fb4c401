"""Fixtures of the kill -9 drills: a stack of the drill's own and the users who load it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.api.profile_support import man
from tests.drills.load import REQUEST_TIMEOUT_SECONDS, Load
from tests.drills.stack import DrillStack, DrillUser

# Few clients: two cores serve the API, both servers and the test itself.
CLIENTS = 3


@pytest.fixture
def stack(tmp_path: Path, repo_root: Path) -> Iterator[DrillStack]:
    if os.environ.get("EROS_REDIS_URL") or os.environ.get("EROS_DATABASE_URL"):
        pytest.skip("the drills kill servers of their own; external ones are not theirs")
    drill = DrillStack(tmp_path, repo_root)
    try:
        drill.start()
        yield drill
    finally:
        drill.stop()


@dataclass(frozen=True)
class Cast:
    clients: list[DrillUser]
    target: DrillUser
    reportee: DrillUser


@pytest.fixture
def cast(stack: DrillStack) -> Cast:
    """The app users, the member they look at (with a profile, so their views count) and
    the member they report."""
    *clients, target, reportee = stack.make_users(CLIENTS + 2)
    response = httpx.put(
        f"{stack.api_process.url}/api/v1/users/profile",
        json=man(),
        headers=target.headers,
        timeout=REQUEST_TIMEOUT_SECONDS,
    )
    assert response.status_code == 200, response.text
    return Cast(clients, target, reportee)


@pytest.fixture
def load(stack: DrillStack, cast: Cast) -> Load:
    return Load(stack.api_process.url, cast.clients, cast.target.id, cast.reportee.id)
