"""After a fault: is every write the API acknowledged where it should be, exactly once?

Each check returns the lost or doubled writes, described, so that a drill's assertion
says what went missing.
"""

from __future__ import annotations

from collections import Counter
from typing import Any
from uuid import UUID

import psycopg
import redis

from eros.core.keys import ACTIVITY_KEY
from tests.drills.load import BIO_PREFIX, AckedEvent, Ledger

# Answers a client may see during a fault: a 2xx, a 503 that says when to retry, or no
# answer at all while the API itself is down. Never a 500.
EXPECTED_ANSWER_PREFIXES = ("2",)
EXPECTED_ANSWERS = {"503", "unreachable"}


def lost_heartbeats(redis_url: str, acked: dict[UUID, int]) -> list[str]:
    """Activity is one score per user, moved forward only (`ZADD GT`): an acknowledged
    heartbeat is kept if its user's score is at least its server time."""
    client = redis.Redis.from_url(redis_url)
    try:
        users = list(acked)
        members: list[Any] = [user.bytes for user in users]
        scores = client.zmscore(ACTIVITY_KEY, members) if users else []
    finally:
        client.close()
    return [
        f"heartbeat of {user} at {acked[user]} (stored: {score})"
        for user, score in zip(users, scores, strict=True)
        if score is None or score < acked[user]
    ]


def lost_profiles(database_url: str, acked: dict[UUID, int]) -> list[str]:
    """Each user saves profile versions one after another: the stored one is the latest
    acknowledged or a later one whose answer was lost."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT user_id, bio FROM profiles WHERE user_id = ANY(%s)", (list(acked),)
        ).fetchall()
    stored = {user: int(bio.removeprefix(BIO_PREFIX)) for user, bio in rows}
    return [
        f"profile version {version} of {user} (stored: {stored.get(user)})"
        for user, version in acked.items()
        if stored.get(user, 0) < version
    ]


def lost_or_doubled_events(database_url: str, acked: list[AckedEvent]) -> list[str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT actor_id, target_id, kind, occurred_at FROM interactions WHERE source = 'batch'"
        ).fetchall()
    stored = Counter(AckedEvent(*row) for row in rows)
    return [
        f"interaction {event} stored {stored[event]} times" for event in acked if stored[event] != 1
    ]


def lost_or_doubled_reports(database_url: str, acked: dict[str, UUID]) -> list[str]:
    """A report's Idempotency-Key is also its details: one report per key, with the id
    the API answered (a retry after a lost answer replays it)."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT details, id FROM reports WHERE details = ANY(%s)", (list(acked),)
        ).fetchall()
    stored: dict[str, list[UUID]] = {}
    for key, report_id in rows:
        stored.setdefault(key, []).append(report_id)
    return [
        f"report {report_id} ({key}) stored as {stored.get(key, [])}"
        for key, report_id in acked.items()
        if stored.get(key) != [report_id]
    ]


def lost_writes(redis_url: str, database_url: str, ledger: Ledger) -> list[str]:
    """Every acknowledged write of the ledger, heartbeats included."""
    return [
        *lost_heartbeats(redis_url, ledger.heartbeats_now()),
        *lost_database_writes(database_url, ledger),
    ]


def lost_database_writes(database_url: str, ledger: Ledger) -> list[str]:
    return [
        *lost_profiles(database_url, dict(ledger.profiles)),
        *lost_or_doubled_events(database_url, list(ledger.events)),
        *lost_or_doubled_reports(database_url, dict(ledger.reports)),
    ]


def unexpected_answers(ledger: Ledger) -> set[str]:
    """Answers outside what the API promises during a fault (a 500, a 503 without
    Retry-After, a refused event)."""
    return {
        answer
        for answer in ledger.answers_seen()
        if not answer.startswith(EXPECTED_ANSWER_PREFIXES) and answer not in EXPECTED_ANSWERS
    }
