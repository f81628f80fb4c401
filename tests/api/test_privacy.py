"""Privacy rights: a member exports everything held about them, and deletes their account
leaving no trace of their id anywhere in PostgreSQL or Redis but the documented reports."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import psycopg
import redis
from fastapi.testclient import TestClient

from eros.core.clock import ManualClock
from eros.core.keys import (
    checkpoint_key,
    daily_matches_cache_key,
    favourites_cache_key,
    llm_budget_key,
    user_jobs_key,
)
from eros.core.phases import Phase
from eros.core.settings import Settings
from eros.pipeline.queue import Enqueuer, JobKey
from eros.pipeline.rq_internals import JOB_KEY_PREFIX
from tests.api.profile_support import (
    MakeAccount,
    assert_error,
    man,
    profile_body,
    put_profile,
    quick_accounts,
)
from tests.conftest import Account

EXPORT = "/api/v1/users/me/export"
ME = "/api/v1/users/me"
PASSWORD = "correct horse battery"
# Column types whose values are searched for the member's id, as text or raw bytes.
TEXT_TYPES = ("text", "jsonb", "json", "ARRAY", "character varying")


def _delete(client: TestClient, account: Account, password: str = PASSWORD) -> Any:
    return client.request("DELETE", ME, json={"password": password}, headers=account.headers)


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


def _recommended(client: TestClient, viewer: Account) -> None:
    _ok(client.get("/api/v1/matches/recommendations", headers=viewer.headers))


def _member_everywhere(
    client: TestClient,
    db: psycopg.Connection[Any],
    redis_client: redis.Redis,
    settings: Settings,
    clock: ManualClock,
    me: Account,
) -> tuple[Account, Account, Account]:
    """`me` with data in every table and every kind of Redis key, and three other members
    (liked, blocked, reported) whose data mentions `me`."""
    liked, blocked, reported = quick_accounts(db, clock, 3)
    put_profile(client, me, profile_body())
    for other in (liked, blocked, reported):
        put_profile(client, other, man())
    for viewer in (me, liked, blocked, reported):
        _recommended(client, viewer)
    _ok(client.get(f"/api/v1/users/{me.id}/profile", headers=liked.headers))
    beat = {"appActive": True, "screenOn": True}
    _ok(client.post("/api/v1/heartbeat", json=beat, headers=me.headers))
    like = {"action": "like"}
    keyed = {**me.headers, "Idempotency-Key": "like-0001"}
    _ok(client.post(f"/api/v1/matches/{liked.id}/action", json=like, headers=keyed))
    _ok(client.post(f"/api/v1/matches/{me.id}/action", json=like, headers=liked.headers))
    _ok(client.post("/api/v1/blocks", json={"userId": blocked.id}, headers=me.headers))
    _ok(client.post("/api/v1/blocks", json={"userId": me.id}, headers=blocked.headers))
    report = {"reason": "harassment", "severity": "high", "details": "Rude messages."}
    _ok(
        client.post(
            "/api/v1/reports", json={**report, "reportedUserId": me.id}, headers=reported.headers
        )
    )
    _ok(
        client.post(
            "/api/v1/reports", json={**report, "reportedUserId": reported.id}, headers=me.headers
        )
    )
    _ok(client.post("/api/v1/assistant/chat", json={"message": "Hello!"}, headers=me.headers))
    _learned_and_matched(db, UUID(me.id), UUID(liked.id))
    _learned_and_matched(db, UUID(liked.id), UUID(me.id))
    db.execute(
        "INSERT INTO account_sanctions (user_id, kind, until, reason) "
        "VALUES (%s, 'suspended', now() - interval '1 day', 'Spam, long ago.')",
        (me.id,),
    )
    db.execute(
        "INSERT INTO moderation_audit (action, user_id, note) VALUES ('suspended', %s, 'spam')",
        (me.id,),
    )
    user = UUID(me.id)
    redis_client.set(favourites_cache_key(user), json.dumps({"favourites": [liked.id]}))
    redis_client.set(favourites_cache_key(UUID(liked.id)), json.dumps({"favourites": [me.id]}))
    redis_client.set(daily_matches_cache_key(UUID(liked.id)), json.dumps({"user": me.id}))
    redis_client.set(checkpoint_key(2, user), json.dumps({"state": {"done": ["favourite"]}}))
    redis_client.set(llm_budget_key("assistant", user, "2026-12-07"), 1)
    # A finished job of an earlier idle period, and a queued one the deletion must halt.
    finished = JobKey(user, Phase.MEDIUM, clock.now_ms() - 3_600_000).id
    redis_client.hset(JOB_KEY_PREFIX + finished, mapping={"status": "finished"})
    redis_client.zadd(f"rq:finished:{settings.phase_queues[1]}", {finished: 1})
    since = int(redis_client.zscore("eros:activity", user.bytes) or 0)
    assert Enqueuer(redis_client, settings).enqueue(Phase.LIGHT, [(user.bytes, since)]).enqueued
    assert redis_client.smembers(user_jobs_key(user))
    return liked, blocked, reported


def _learned_and_matched(db: psycopg.Connection[Any], user: UUID, candidate: UUID) -> None:
    """What the phase jobs store: patterns, preferences and a day's match of `candidate`."""
    db.execute(
        "INSERT INTO learned_patterns "
        "VALUES (%s, 'favourite', 'interest:hiking', 0.5, 3, 0.6, now())",
        (user,),
    )
    db.execute(
        "INSERT INTO ultimate_preferences VALUES (%s, 'rules', %s, 1, now())",
        (user, json.dumps({"summary": "Outdoor people."})),
    )
    db.execute(
        "INSERT INTO daily_match_sets VALUES (%s, current_date, 'analysis', 'rules', now(), now())",
        (user,),
    )
    db.execute(
        "INSERT INTO daily_matches VALUES (%s, current_date, 1, %s, 0.9, %s)",
        (user, candidate, json.dumps([{"kind": "interest", "key": "hiking"}])),
    )


def _rows_naming(db: psycopg.Connection[Any], user: UUID) -> list[str]:
    """Every column of every table where the id appears: as a uuid, inside text or JSON,
    or as its 16 bytes."""
    found = []
    columns = db.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name IN "
        "(SELECT tablename FROM pg_tables WHERE schemaname = 'public')"
    ).fetchall()
    for table, column, kind in columns:
        if kind == "uuid":
            condition, value = f'"{column}" = %s', user
        elif kind in TEXT_TYPES:
            condition, value = f'"{column}"::text LIKE %s', f"%{user}%"
        elif kind == "bytea":
            condition, value = f'position(%s::bytea in "{column}") > 0', user.bytes
        else:
            continue
        count = db.execute(f'SELECT count(*) FROM "{table}" WHERE {condition}', (value,)).fetchone()
        assert count is not None
        if count[0]:
            found.append(f"{table}.{column}")
    return found


def _values(client: redis.Redis, key: bytes) -> list[bytes]:
    kind = client.type(key)
    if kind == b"string":
        return [client.get(key) or b""]
    if kind == b"hash":
        return [item for pair in client.hgetall(key).items() for item in pair]
    if kind == b"set":
        return list(client.smembers(key))
    if kind == b"zset":
        return list(client.zrange(key, 0, -1))
    if kind == b"list":
        return list(client.lrange(key, 0, -1))
    if kind == b"stream":
        return [v for _, entry in client.xrange(key) for pair in entry.items() for v in pair]
    return []


def _keys_naming(client: redis.Redis, user: UUID) -> list[str]:
    """Every key whose name, members or values hold the id (text, hex or 16 bytes)."""
    needles = (str(user).encode(), user.hex.encode(), user.bytes)
    return [
        key.decode(errors="replace")
        for key in client.scan_iter(count=1000)
        if any(n in key or any(n in v for v in _values(client, key)) for n in needles)
    ]


def test_a_deleted_member_leaves_no_trace_in_any_table_or_key_but_anonymised_reports(
    client: TestClient,
    db: psycopg.Connection[Any],
    redis_client: redis.Redis,
    settings: Settings,
    clock: ManualClock,
    make_account: MakeAccount,
) -> None:
    me = make_account()
    user = UUID(me.id)
    liked, _, reported = _member_everywhere(client, db, redis_client, settings, clock, me)
    # The setup reached every table and every kind of key.
    assert len(_rows_naming(db, user)) >= 15
    assert len(_keys_naming(redis_client, user)) >= 10

    response = _delete(client, me)

    assert _ok(response) == {
        "success": True,
        "deleted": True,
        "reportsFiledKept": 1,
        "reportsAgainstKept": 1,
    }
    assert _rows_naming(db, user) == []
    assert _keys_naming(redis_client, user) == []
    # The reports stay, naming only the member who is still here.
    reports = db.execute("SELECT reporter_id, reported_id, reason FROM reports").fetchall()
    assert sorted(reports, key=str) == sorted(
        [(UUID(reported.id), None, "harassment"), (None, UUID(reported.id), "harassment")],
        key=str,
    )
    # Others keep their accounts and are served as before, without the member.
    assert _ok(client.get("/api/v1/users/profile", headers=liked.headers))["profile"]
    _recommended(client, liked)
    assert _keys_naming(redis_client, user) == []


def test_deleting_an_account_takes_its_password(
    client: TestClient, make_account: MakeAccount, db: psycopg.Connection[Any]
) -> None:
    me = make_account()
    assert_error(_delete(client, me, "not my password"), 401, "invalid_credentials")
    response = client.request("DELETE", ME, json={}, headers=me.headers)
    assert_error(response, 422, "validation_error")
    assert db.execute("SELECT count(*) FROM users WHERE id = %s", (me.id,)).fetchone() == (1,)


def test_a_suspended_member_cannot_delete_the_evidence_against_them(
    client: TestClient, make_account: MakeAccount, db: psycopg.Connection[Any]
) -> None:
    me = make_account()
    db.execute(
        "INSERT INTO account_sanctions (user_id, kind, until, reason) "
        "VALUES (%s, 'suspended', now() + interval '1 day', 'Under review.')",
        (me.id,),
    )
    assert_error(_delete(client, me), 403, "account_disabled")
    assert db.execute("SELECT count(*) FROM users WHERE id = %s", (me.id,)).fetchone() == (1,)


def test_a_token_of_a_deleted_account_finds_nothing_to_export_and_puts_nothing_back(
    client: TestClient, make_account: MakeAccount, redis_client: redis.Redis
) -> None:
    me = make_account()
    _ok(_delete(client, me))
    beat = client.post(
        "/api/v1/heartbeat", json={"appActive": True, "screenOn": True}, headers=me.headers
    )
    assert_error(beat, 403, "account_disabled")
    assert _keys_naming(redis_client, UUID(me.id)) == []
    assert_error(client.get(EXPORT, headers=me.headers), 404, "not_found")
    assert_error(_delete(client, me), 401, "invalid_credentials")


def test_the_export_holds_the_members_own_data_and_no_secrets(
    client: TestClient,
    db: psycopg.Connection[Any],
    redis_client: redis.Redis,
    settings: Settings,
    clock: ManualClock,
    make_account: MakeAccount,
) -> None:
    me = make_account()
    liked, blocked, reported = _member_everywhere(client, db, redis_client, settings, clock, me)

    body = _ok(client.get(EXPORT, headers=me.headers))

    assert body["format"] == "eros-export/1"
    assert body["userId"] == me.id
    tables = body["postgres"]
    assert tables["users"][0]["email"] == me.email
    assert "password_hash" not in tables["users"][0]
    assert tables["refresh_tokens"] and all("token_hash" not in t for t in tables["refresh_tokens"])
    assert tables["profiles"][0]["display_name"] == "Ana"
    assert [(i["target_id"], i["kind"]) for i in tables["interactions"] if i["kind"] == "like"] == [
        (liked.id, "like")
    ]
    assert {b["blocked_id"] for b in tables["blocks"]} == {blocked.id, reported.id}
    assert [r["reported_id"] for r in tables["reports"]] == [reported.id]
    assert "reporter_id" not in tables["reports"][0]
    assert [k["key"] for k in tables["idempotency_keys"]] == ["like-0001"]
    assert {s["candidate_id"] for s in tables["shown_history"]} >= {liked.id}
    for table in ("learned_patterns", "ultimate_preferences", "daily_match_sets", "daily_matches"):
        assert len(tables[table]) == 1, table
    assert [s["kind"] for s in tables["account_sanctions"]] == ["suspended"]
    assert [(set(a), a["action"]) for a in tables["moderation_audit"]] == [
        ({"action", "at"}, "suspended")
    ]
    held = body["redis"]
    assert held["lastActiveMs"] == clock.now_ms()
    [conversation] = held["conversations"].values()
    assert conversation[0]["content"] == "Hello!"
    assert held["favourites"] == {"favourites": [liked.id]}
    assert held["checkpoints"] == {"2": {"state": {"done": ["favourite"]}}}
    assert len(held["jobs"]) == 1
