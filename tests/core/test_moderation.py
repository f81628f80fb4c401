"""Moderation: triage moves forward only, and a sanction flips the one visibility rule."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg import AsyncConnection
from psycopg.rows import dict_row

from eros.core import moderation
from eros.core.errors import ConflictError, InvalidError, NotFoundError
from eros.core.moderation import ReportStatus, SanctionKind, next_status
from eros.core.visibility import account_enabled, visible

T = TypeVar("T")
Work = Callable[[AsyncConnection[Any]], Awaitable[T]]

S = ReportStatus


@pytest.mark.parametrize(
    ("current", "wanted"),
    [
        (S.OPEN, S.REVIEWED),
        (S.OPEN, S.ACTIONED),
        (S.OPEN, S.DISMISSED),
        (S.REVIEWED, S.ACTIONED),
        (S.REVIEWED, S.DISMISSED),
    ],
)
def test_a_report_moves_forward_along_its_triage(
    current: ReportStatus, wanted: ReportStatus
) -> None:
    assert next_status(current, wanted) is wanted


@pytest.mark.parametrize(
    ("current", "wanted"),
    [
        (S.OPEN, S.OPEN),
        (S.REVIEWED, S.OPEN),
        (S.REVIEWED, S.REVIEWED),
        (S.ACTIONED, S.DISMISSED),
        (S.DISMISSED, S.REVIEWED),
        (S.ACTIONED, S.OPEN),
    ],
)
def test_a_report_never_moves_back_nor_out_of_a_decision(
    current: ReportStatus, wanted: ReportStatus
) -> None:
    with pytest.raises(ConflictError) as refused:
        next_status(current, wanted)
    assert refused.value.code == "invalid_transition"


def _run(database_url: str, work: Work[T]) -> T:
    async def go() -> T:
        async with await AsyncConnection.connect(
            database_url, autocommit=True, row_factory=dict_row
        ) as conn:
            return await work(conn)

    return asyncio.run(go())


def _user(db: psycopg.Connection[Any]) -> UUID:
    user_id = uuid4()
    db.execute(
        "INSERT INTO users (id, email, password_hash, name) VALUES (%s, %s, 'x', 'M')",
        (user_id, f"{user_id}@example.com"),
    )
    return user_id


def _report(db: psycopg.Connection[Any], reporter: UUID, reported: UUID) -> UUID:
    report_id = uuid4()
    db.execute(
        "INSERT INTO reports (id, reporter_id, reported_id, reason, severity) "
        "VALUES (%s, %s, %s, 'spam', 'medium')",
        (report_id, reporter, reported),
    )
    return report_id


def _audit(db: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return db.execute(
        "SELECT action, report_id, user_id, note FROM moderation_audit ORDER BY id"
    ).fetchall()


def test_triage_stores_the_step_and_its_note_in_the_audit_trail(
    db: psycopg.Connection[Any], database_url: str
) -> None:
    admin, reporter, reported = _user(db), _user(db), _user(db)
    report_id = _report(db, reporter, reported)
    reviewed = _run(
        database_url,
        lambda c: moderation.triage(c, report_id, S.REVIEWED, admin, "Looked at the photos."),
    )
    assert reviewed.status is S.REVIEWED and reviewed.note == "Looked at the photos."
    _run(database_url, lambda c: moderation.triage(c, report_id, S.ACTIONED, admin, None))
    with pytest.raises(ConflictError):
        _run(database_url, lambda c: moderation.triage(c, report_id, S.DISMISSED, admin, None))
    assert _audit(db) == [
        ("report_reviewed", report_id, None, "Looked at the photos."),
        ("report_actioned", report_id, None, None),
    ]
    with pytest.raises(NotFoundError):
        _run(database_url, lambda c: moderation.triage(c, uuid4(), S.REVIEWED, admin, None))


def test_reports_are_listed_oldest_first_by_status_and_reported_user_in_pages(
    db: psycopg.Connection[Any], database_url: str
) -> None:
    reporter, one, other = _user(db), _user(db), _user(db)
    first, second = _report(db, reporter, one), _report(db, reporter, one)
    _report(db, reporter, other)
    db.execute(
        "UPDATE reports SET created_at = created_at - interval '1 hour' WHERE id = %s", (first,)
    )
    page = _run(database_url, lambda c: moderation.list_reports(c, reported_id=one, limit=1))
    assert [r.id for r in page.reports] == [first] and page.total == 2
    page = _run(
        database_url, lambda c: moderation.list_reports(c, reported_id=one, limit=1, offset=1)
    )
    assert [r.id for r in page.reports] == [second]
    _run(database_url, lambda c: moderation.triage(c, second, S.DISMISSED, None, None))
    dismissed = _run(database_url, lambda c: moderation.list_reports(c, status=S.DISMISSED))
    assert [r.id for r in dismissed.reports] == [second] and dismissed.total == 1
    empty = _run(database_url, lambda c: moderation.list_reports(c, offset=10))
    assert empty.reports == [] and empty.total == 3
    with pytest.raises(InvalidError):
        _run(database_url, lambda c: moderation.list_reports(c, limit=0))


@pytest.mark.parametrize("kind", list(SanctionKind))
def test_a_sanction_hides_the_account_and_revokes_its_sessions_until_reinstated(
    db: psycopg.Connection[Any], database_url: str, kind: SanctionKind
) -> None:
    viewer, member = _user(db), _user(db)
    db.execute(
        "INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, expires_at) "
        "VALUES (%s, %s, %s, 'h', now() + interval '1 day')",
        (uuid4(), member, uuid4()),
    )

    async def sanction(c: AsyncConnection[Any]) -> moderation.Sanction:
        if kind is SanctionKind.BANNED:
            return await moderation.ban(c, member, viewer, "Scam.")
        return await moderation.suspend(c, member, 3600, viewer, "Cool off.")

    applied = _run(database_url, sanction)
    assert applied.kind is kind and (applied.until is None) == (kind is SanctionKind.BANNED)
    assert not _run(database_url, lambda c: account_enabled(c, member))
    assert not _run(database_url, lambda c: visible(c, viewer, member))
    revoked = db.execute("SELECT revoked_at FROM refresh_tokens WHERE user_id = %s", (member,))
    assert revoked.fetchone()[0] is not None  # type: ignore[index]

    _run(database_url, lambda c: moderation.reinstate(c, member, viewer, "Appeal."))
    assert _run(database_url, lambda c: visible(c, viewer, member))
    assert [row[0] for row in _audit(db)] == [kind.value, "reinstated"]
    with pytest.raises(ConflictError) as again:
        _run(database_url, lambda c: moderation.reinstate(c, member, viewer, "Twice."))
    assert again.value.code == "not_sanctioned"


def test_a_suspension_ends_by_itself(db: psycopg.Connection[Any], database_url: str) -> None:
    viewer, member = _user(db), _user(db)
    _run(database_url, lambda c: moderation.suspend(c, member, 3600, None, "Cool off."))
    db.execute("UPDATE account_sanctions SET until = now() - interval '1 second'")
    assert _run(database_url, lambda c: visible(c, viewer, member))


def test_sanctions_refuse_unknown_users_and_absurd_durations(
    db: psycopg.Connection[Any], database_url: str
) -> None:
    with pytest.raises(NotFoundError):
        _run(database_url, lambda c: moderation.ban(c, uuid4(), None, "?"))
    member = _user(db)
    for seconds in (0, moderation.MAX_SUSPENSION_SECONDS + 1):
        with pytest.raises(InvalidError):
            _run(
                database_url,
                partial(
                    moderation.suspend, user_id=member, seconds=seconds, actor=None, reason="?"
                ),
            )


def test_exposure_is_lowered_by_open_reports_from_enough_distinct_members(
    db: psycopg.Connection[Any], database_url: str
) -> None:
    member = _user(db)
    reporters = [_user(db) for _ in range(3)]

    def lowered() -> bool:
        row = db.execute(f"SELECT {moderation.exposure_lowered_sql('%s')}", (member,)).fetchone()
        return bool(row and row[0])

    _report(db, reporters[0], member)
    _report(db, reporters[0], member)  # the same reporter twice counts once
    _report(db, reporters[1], member)
    assert not lowered()
    third = _report(db, reporters[2], member)
    assert lowered()
    _run(database_url, lambda c: moderation.triage(c, third, S.REVIEWED, None, None))
    assert not lowered()


def test_the_audit_trail_of_a_member_holds_their_sanctions_and_the_reports_against_them(
    db: psycopg.Connection[Any], database_url: str
) -> None:
    admin, reporter, member, other = _user(db), _user(db), _user(db), _user(db)
    report_id = _report(db, reporter, member)
    _run(database_url, lambda c: moderation.triage(c, report_id, S.ACTIONED, admin, "Fake."))
    _run(database_url, lambda c: moderation.ban(c, member, admin, "Scam."))
    _run(database_url, lambda c: moderation.ban(c, other, admin, "Spam."))
    trail = _run(database_url, lambda c: moderation.list_audit(c, user_id=member))
    assert [(e.action, e.report_id, e.user_id, e.actor_id) for e in trail] == [
        ("banned", None, member, admin),
        ("report_actioned", report_id, member, admin),
    ]
    by_report = _run(database_url, lambda c: moderation.list_audit(c, report_id=report_id))
    assert [e.note for e in by_report] == ["Fake."]
    assert len(_run(database_url, lambda c: moderation.list_audit(c, limit=1))) == 1
    with pytest.raises(InvalidError):
        _run(database_url, lambda c: moderation.list_audit(c, limit=0))
