"""`eros moderation ...`: a ban from a shell takes effect on the API's next request."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import psycopg
import redis
from fastapi.testclient import TestClient

from eros.core.clock import ManualClock
from eros.core.settings import Settings
from eros.pipeline.scheduler import Scheduler
from tests.api.profile_support import assert_error, man, profile_body, put_profile, quick_accounts
from tests.conftest import TEST_JWT_SECRET, Account

HOUR_S = 3600
SUBPROCESS_DEADLINE_SECONDS = 120
PASSWORD = "correct horse battery"


def _eros(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "EROS_ENVIRONMENT": "test",
        "EROS_DATABASE_URL": str(settings.database_url),
        "EROS_REDIS_URL": str(settings.redis_url),
        "EROS_JWT_SECRET": TEST_JWT_SECRET,
    }
    return subprocess.run(
        [sys.executable, "-P", "-m", "eros.cli.main", "moderation", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=SUBPROCESS_DEADLINE_SECONDS,
        check=False,
    )


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def _beat(client: TestClient, member: Account) -> Any:
    return client.post(
        "/api/v1/heartbeat", json={"appActive": True, "screenOn": True}, headers=member.headers
    )


def test_a_ban_from_the_cli_takes_effect_on_the_apis_next_request_and_halts_jobs(
    client: TestClient,
    db: psycopg.Connection[Any],
    clock: ManualClock,
    make_account: Callable[..., Account],
    redis_client: redis.Redis,
    settings: Settings,
) -> None:
    member = make_account()
    (viewer,) = quick_accounts(db, clock, 1)
    put_profile(client, viewer, profile_body())
    put_profile(client, member, man())
    profile = f"/api/v1/users/{member.id}/profile"
    assert client.get(profile, headers=viewer.headers).status_code == 200
    scheduler = Scheduler(redis_client, settings, clock=clock, name="scheduler-a")
    scheduler.tick()
    client.post(
        "/api/v1/heartbeat", json={"appActive": True, "screenOn": True}, headers=member.headers
    )
    clock.advance(seconds=HOUR_S + 1)
    assert scheduler.tick().total_enqueued == 3

    out = _ok(_eros(settings, "ban", member.id, "--reason", "Scam."))
    assert out == f"{member.id} is banned; halted 3 jobs\n"
    assert_error(client.get(profile, headers=viewer.headers), 404, "not_found")
    login = client.post("/api/v1/auth/login", json={"email": member.email, "password": PASSWORD})
    assert_error(login, 403, "account_disabled")
    # The token issued before the ban still verifies; its heartbeats are refused.
    assert_error(_beat(client, member), 403, "account_disabled")

    assert _ok(_eros(settings, "reinstate", member.id, "--reason", "Appeal.")).endswith(
        "is reinstated\n"
    )
    assert client.get(profile, headers=viewer.headers).status_code == 200
    assert _beat(client, member).status_code == 200
    audit = _ok(_eros(settings, "audit", "--user", member.id))
    trail = [json.loads(line) for line in audit.splitlines()]
    assert [(e["action"], e["actorId"], e["note"]) for e in trail] == [
        ("reinstated", None, "Appeal."),
        ("banned", None, "Scam."),
    ]


def test_reports_are_listed_and_triaged_from_the_cli(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock, settings: Settings
) -> None:
    reporter, reported = quick_accounts(db, clock, 2)
    filed = client.post(
        "/api/v1/reports",
        json={"reportedUserId": reported.id, "reason": "spam"},
        headers=reporter.headers,
    )
    report_id = filed.json()["reportId"]
    listed = _eros(settings, "reports", "--status", "open", "--reported", reported.id)
    lines = [json.loads(line) for line in _ok(listed).splitlines()]
    assert [(r["id"], r["reporterId"], r["status"]) for r in lines] == [
        (report_id, reporter.id, "open")
    ]
    assert listed.stderr.endswith("1 of 1 reports\n")
    triaged = _eros(settings, "triage", report_id, "dismissed", "--note", "Not spam.")
    assert _ok(triaged) == f"report {report_id} is now dismissed\n"

    again = _eros(settings, "triage", report_id, "reviewed")
    assert again.returncode == 1 and again.stderr.startswith("eros: invalid_transition: ")
    no_time = _eros(settings, "suspend", reporter.id, "--days", "0", "--reason", "?")
    assert no_time.returncode == 1 and no_time.stderr.startswith("eros: invalid_duration: ")


def test_every_moderation_action_has_help() -> None:
    from eros.cli.main import build_parser

    for action in ("reports", "audit", "triage", "suspend", "ban", "reinstate"):
        try:
            build_parser().parse_args(["moderation", action, "--help"])
        except SystemExit as exited:
            assert exited.code == 0
        else:
            raise AssertionError(f"{action} --help did not exit")
