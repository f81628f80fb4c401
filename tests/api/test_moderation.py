"""Moderation through the API: a ban or suspension takes effect on the next request on
every route, reinstating restores, and triage is for administrators only."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
import redis
from fastapi.testclient import TestClient

from eros.core.clock import ManualClock
from eros.core.phase_config import from_settings
from eros.core.phases import Phase
from eros.core.settings import Settings
from eros.pipeline.queue import phase_queue
from eros.pipeline.scheduler import Scheduler
from tests.api.profile_support import assert_error, man, profile_body, put_profile, quick_accounts
from tests.conftest import Account

MODERATION = "/api/v1/moderation"
PASSWORD = "correct horse battery"
UNKNOWN = "00000000-0000-0000-0000-000000000001"
HOUR_S = 3600


def _recommended(client: TestClient, viewer: Account) -> list[str]:
    response = client.get("/api/v1/matches/recommendations", headers=viewer.headers)
    assert response.status_code == 200, response.text
    return [r["matchId"] for r in response.json()["recommendations"]]


def _daily(client: TestClient, viewer: Account) -> list[str]:
    response = client.get("/api/v1/matches/daily", headers=viewer.headers)
    assert response.status_code == 200, response.text
    return [m["matchId"] for m in response.json()["matches"]]


def _profile_status(client: TestClient, viewer: Account, other: Account) -> int:
    return client.get(f"/api/v1/users/{other.id}/profile", headers=viewer.headers).status_code


def _login(client: TestClient, account: Account) -> Any:
    return client.post("/api/v1/auth/login", json={"email": account.email, "password": PASSWORD})


def _beat(client: TestClient, account: Account) -> Any:
    body = {"appActive": True, "screenOn": True}
    return client.post("/api/v1/heartbeat", json=body, headers=account.headers)


def _act(client: TestClient, admin: Account, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"{MODERATION}{path}", json=body, headers=admin.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _report(client: TestClient, reporter: Account, reported: Account) -> str:
    response = client.post(
        "/api/v1/reports",
        json={"reportedUserId": reported.id, "reason": "scam"},
        headers=reporter.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["reportId"])


@dataclass(frozen=True)
class Scene:
    admin: Account
    member: Account
    viewer: Account
    """Sees the member in recommendations and on the member's profile."""
    daily_viewer: Account
    """Has the member in daily matches (a second viewer: what one list shows, the other
    skips as recently shown)."""


@pytest.fixture
def scene(
    client: TestClient,
    db: psycopg.Connection[Any],
    clock: ManualClock,
    make_account: Callable[..., Account],
) -> Scene:
    """An administrator, a member who logs in with a password, and two viewers."""
    admin, member = make_account(admin=True), make_account()
    viewer, daily_viewer = quick_accounts(db, clock, 2)
    put_profile(client, viewer, profile_body())
    put_profile(client, daily_viewer, profile_body(displayName="Eva"))
    put_profile(client, member, man())
    # Both lists are cached from here on: the sanction must reach cached lists too.
    assert _recommended(client, viewer) == [member.id]
    assert _daily(client, daily_viewer) == [member.id]
    assert _profile_status(client, viewer, member) == 200
    return Scene(admin, member, viewer, daily_viewer)


@pytest.mark.parametrize(
    ("action", "body"),
    [("ban", {"reason": "Scam."}), ("suspend", {"seconds": HOUR_S, "reason": "Cool off."})],
)
def test_a_sanction_takes_effect_on_the_next_request_everywhere_until_reinstated(
    client: TestClient, scene: Scene, action: str, body: dict[str, Any]
) -> None:
    admin, member, viewer = scene.admin, scene.member, scene.viewer
    sanctioned = _act(client, admin, f"/users/{member.id}/{action}", body)
    assert sanctioned["userId"] == member.id and sanctioned["success"] is True
    assert sanctioned["sanction"] == ("banned" if action == "ban" else "suspended")
    assert (sanctioned["until"] is None) == (action == "ban")

    assert_error(_login(client, member), 403, "account_disabled")
    refresh = client.post("/api/v1/auth/refresh", json={"refreshToken": member.refresh_token})
    assert_error(refresh, 401, "refresh_token_revoked")
    write = client.put("/api/v1/users/profile", json=man(), headers=member.headers)
    assert_error(write, 403, "account_disabled")
    # Heartbeats are checked without a database read: Redis refuses them for the token's life.
    assert_error(_beat(client, member), 403, "account_disabled")
    assert _profile_status(client, viewer, member) == 404
    assert member.id not in _recommended(client, viewer)
    assert member.id not in _daily(client, scene.daily_viewer)

    reinstated = _act(client, admin, f"/users/{member.id}/reinstate", {"reason": "Appeal."})
    assert reinstated["sanction"] is None
    assert _login(client, member).status_code == 200
    assert _beat(client, member).status_code == 200
    assert _profile_status(client, viewer, member) == 200
    assert _recommended(client, viewer) == [member.id]
    assert _daily(client, scene.daily_viewer) == [member.id]

    trail = client.get(
        f"{MODERATION}/audit", params={"userId": member.id}, headers=admin.headers
    ).json()["entries"]
    assert [(e["action"], e["actorId"], e["note"]) for e in trail] == [
        ("reinstated", admin.id, "Appeal."),
        (sanctioned["sanction"], admin.id, body["reason"]),
    ]


def test_a_ban_halts_the_members_queued_jobs(
    client: TestClient,
    make_account: Callable[..., Account],
    redis_client: redis.Redis,
    settings: Settings,
    clock: ManualClock,
) -> None:
    admin, member = make_account(admin=True), make_account()
    scheduler = Scheduler(redis_client, settings, clock=clock, name="scheduler-a")
    scheduler.tick()
    beat = client.post(
        "/api/v1/heartbeat", json={"appActive": True, "screenOn": True}, headers=member.headers
    )
    assert beat.status_code == 200, beat.text
    clock.advance(seconds=HOUR_S + 1)
    assert scheduler.tick().total_enqueued == 3
    banned = _act(client, admin, f"/users/{member.id}/ban", {"reason": "Scam."})
    assert banned["haltedJobs"] == 3
    for phase in (Phase.LIGHT, Phase.MEDIUM, Phase.DEEP):
        assert phase_queue(redis_client, from_settings(settings), phase).get_job_ids() == []


def test_reports_are_triaged_forward_only_with_notes(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock, scene: Scene
) -> None:
    admin, member, viewer = scene.admin, scene.member, scene.viewer
    report_id = _report(client, viewer, member)
    listed = client.get(
        f"{MODERATION}/reports",
        params={"status": "open", "reportedUserId": member.id},
        headers=admin.headers,
    ).json()
    assert [r["id"] for r in listed["reports"]] == [report_id] and listed["total"] == 1
    assert listed["reports"][0]["reporterId"] == viewer.id

    path = f"{MODERATION}/reports/{report_id}/triage"
    reviewed = client.post(
        path, json={"status": "reviewed", "note": "Asked for ID."}, headers=admin.headers
    )
    assert reviewed.status_code == 200 and reviewed.json()["note"] == "Asked for ID."
    dismissed = client.post(path, json={"status": "dismissed"}, headers=admin.headers)
    assert dismissed.json()["status"] == "dismissed"
    # A decided report is final, and a member without a sanction cannot be reinstated.
    again = client.post(path, json={"status": "actioned"}, headers=admin.headers)
    assert_error(again, 409, "invalid_transition")
    reinstate = client.post(
        f"{MODERATION}/users/{member.id}/reinstate", json={"reason": "?"}, headers=admin.headers
    )
    assert_error(reinstate, 409, "not_sanctioned")
    trail = client.get(
        f"{MODERATION}/audit", params={"reportId": report_id}, headers=admin.headers
    ).json()["entries"]
    assert [e["action"] for e in trail] == ["report_dismissed", "report_reviewed"]


def test_members_reported_by_enough_others_are_not_recommended_until_reviewed(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock, scene: Scene
) -> None:
    admin, member, viewer = scene.admin, scene.member, scene.viewer
    reporters = quick_accounts(db, clock, 3)
    first, second = (_report(client, r, member) for r in reporters[:2])
    assert _recommended(client, viewer) == [member.id]
    third = _report(client, reporters[2], member)
    assert _recommended(client, viewer) == []
    # Still a member in good standing: their profile is not hidden, only not pushed.
    assert _profile_status(client, viewer, member) == 200
    for report_id in (first, second, third):
        triaged = client.post(
            f"{MODERATION}/reports/{report_id}/triage",
            json={"status": "dismissed"},
            headers=admin.headers,
        )
        assert triaged.status_code == 200, triaged.text
    assert _recommended(client, viewer) == [member.id]


def test_moderation_is_for_administrators_only(
    client: TestClient, db: psycopg.Connection[Any], clock: ManualClock
) -> None:
    me, other = quick_accounts(db, clock, 2)
    for method, path, body in [
        ("GET", "/reports", None),
        ("GET", "/audit", None),
        ("POST", f"/reports/{UNKNOWN}/triage", {"status": "reviewed"}),
        ("POST", f"/users/{other.id}/ban", {"reason": "No."}),
        ("POST", f"/users/{other.id}/suspend", {"seconds": 60, "reason": "No."}),
        ("POST", f"/users/{other.id}/reinstate", {"reason": "No."}),
    ]:
        response = client.request(method, f"{MODERATION}{path}", json=body, headers=me.headers)
        assert_error(response, 403, "forbidden")
        assert client.request(method, f"{MODERATION}{path}", json=body).status_code == 401


def test_bad_moderation_requests_are_clear_4xx(
    client: TestClient, make_account: Callable[..., Account]
) -> None:
    admin = make_account(admin=True)
    headers = admin.headers
    for body in [
        {"reason": "x"},
        {"seconds": 0, "reason": "x"},
        {"seconds": 366 * 24 * HOUR_S, "reason": "x"},
        {"seconds": "soon", "reason": "x"},
        {"seconds": 60, "reason": ""},
        {"seconds": 60, "reason": "null\x00byte"},
        {"seconds": 60, "reason": "x", "extra": 1},
    ]:
        response = client.post(f"{MODERATION}/users/{admin.id}/suspend", json=body, headers=headers)
        assert_error(response, 422, "validation_error")
    for params in [{"status": "closed"}, {"limit": 0}, {"offset": -1}, {"reportedUserId": "x"}]:
        response = client.get(f"{MODERATION}/reports", params=params, headers=headers)
        assert_error(response, 422, "validation_error")
    triage = f"{MODERATION}/reports/{UNKNOWN}/triage"
    bad_triage = client.post(triage, json={"status": "done"}, headers=headers)
    assert_error(bad_triage, 422, "validation_error")
    missing = client.post(triage, json={"status": "reviewed"}, headers=headers)
    assert_error(missing, 404, "report_not_found")
    ban = client.post(f"{MODERATION}/users/{UNKNOWN}/ban", json={"reason": "x"}, headers=headers)
    assert_error(ban, 404, "user_not_found")
    not_an_id = client.post(f"{MODERATION}/users/nobody/ban", json={"reason": "x"}, headers=headers)
    assert_error(not_an_id, 422, "validation_error")
