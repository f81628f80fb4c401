"""Loading members' standing facts from PostgreSQL, as of a given time.

The rules that turn them into new, established, good standing and cooldowns are pure
and live in `eros.core.matching.standing`. Every query is bounded by `now` (so that a
computation for an earlier or later time sees what it would have seen then) and by
`STANDING_LOOKBACK_SECONDS` (older events cannot change standing any more). Decisions
are counted up to `ESTABLISHED_MIN_DECISIONS` only: more would not change anything.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from eros.core.matching.standing import (
    ESTABLISHED_MIN_DECISIONS,
    STANDING_LOOKBACK_SECONDS,
    Conversation,
    StandingFacts,
)
from eros.core.moderation import ReportStatus

__all__ = ["load_standing"]

_MEMBERSHIP_SQL = """
SELECT u.id AS user_id, u.created_at,
       (SELECT count(*) FROM (
            SELECT DISTINCT i.target_id FROM interactions i
            WHERE i.actor_id = u.id AND i.kind IN ('like', 'skip') AND i.occurred_at <= %(now)s
            LIMIT %(enough)s) d) AS decisions
FROM users u WHERE u.id = ANY(%(ids)s)
"""

# Per distinct reporter: their latest recent report, and whether one is still open.
_REPORTS_SQL = """
SELECT reported_id, reporter_id, bool_or(status = %(open)s) AS open,
       max(created_at) FILTER (WHERE created_at >= %(since)s) AS latest
FROM reports
WHERE reported_id = ANY(%(ids)s) AND status <> %(dismissed)s AND created_at <= %(now)s
  AND (status = %(open)s OR created_at >= %(since)s)
GROUP BY reported_id, reporter_id
"""

# A conversation is opened by someone's first recent message to the member, unless the
# member wrote to them before (then it is an answer); its answer is the member's first
# message back.
_CONVERSATIONS_SQL = """
WITH opened AS (
    SELECT s.target_id AS member, s.actor_id AS sender, min(s.occurred_at) AS opened_at
    FROM interactions s
    WHERE s.target_id = ANY(%(ids)s) AND s.kind = 'message_sent'
      AND s.occurred_at >= %(since)s AND s.occurred_at <= %(now)s
    GROUP BY s.target_id, s.actor_id
)
SELECT o.member, o.opened_at, a.answered_at FROM opened o
LEFT JOIN LATERAL (
    SELECT min(r.occurred_at) AS answered_at FROM interactions r
    WHERE r.actor_id = o.member AND r.target_id = o.sender
      AND r.kind IN ('message_sent', 'message_replied')
      AND r.occurred_at >= o.opened_at AND r.occurred_at <= %(now)s
) a ON true
WHERE NOT EXISTS (
    SELECT 1 FROM interactions e
    WHERE e.actor_id = o.member AND e.target_id = o.sender
      AND e.kind IN ('message_sent', 'message_replied') AND e.occurred_at < o.opened_at
)
"""


async def load_standing(
    conn: AsyncConnection[Any], user_ids: Sequence[UUID], now: datetime
) -> dict[UUID, StandingFacts]:
    """Standing facts of `user_ids` (those with an account) as of `now`."""
    ids = list(user_ids)
    params: dict[str, Any] = {
        "ids": ids,
        "now": now,
        "since": now - timedelta(seconds=STANDING_LOOKBACK_SECONDS),
        "enough": ESTABLISHED_MIN_DECISIONS,
        "open": ReportStatus.OPEN.value,
        "dismissed": ReportStatus.DISMISSED.value,
    }
    cur = await conn.execute(_MEMBERSHIP_SQL, params)
    membership = {r["user_id"]: r for r in await cur.fetchall()}

    open_reports: defaultdict[UUID, int] = defaultdict(int)
    report_times: defaultdict[UUID, list[float]] = defaultdict(list)
    cur = await conn.execute(_REPORTS_SQL, params)
    for r in await cur.fetchall():
        open_reports[r["reported_id"]] += int(r["open"])
        if r["latest"] is not None:
            report_times[r["reported_id"]].append(r["latest"].timestamp())

    conversations: defaultdict[UUID, list[Conversation]] = defaultdict(list)
    cur = await conn.execute(_CONVERSATIONS_SQL, params)
    for r in await cur.fetchall():
        answered = r["answered_at"].timestamp() if r["answered_at"] is not None else None
        conversations[r["member"]].append(Conversation(r["opened_at"].timestamp(), answered))

    return {
        user_id: StandingFacts(
            decisions_made=int(row["decisions"]),
            member_since=row["created_at"].timestamp(),
            open_reports=open_reports[user_id],
            report_times=tuple(sorted(report_times[user_id])),
            conversations=tuple(sorted(conversations[user_id], key=lambda c: c.opened_at)),
        )
        for user_id, row in membership.items()
    }
