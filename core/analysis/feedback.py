"""The feedback loop: delivered daily matches judged by what the user did next.

A prediction's outcome is the user's latest like or skip of that candidate at or after
the set's delivery (a like from before the delivery cannot be one). Precision@10 of a
day is liked / delivered over every set delivered that day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from psycopg import AsyncConnection

__all__ = ["DayQuality", "Quality", "precision_at_10"]


@dataclass(frozen=True, slots=True)
class DayQuality:
    day: date
    users: int
    delivered: int
    liked: int
    skipped: int

    @property
    def precision(self) -> float | None:
        return self.liked / self.delivered if self.delivered else None


@dataclass(frozen=True, slots=True)
class Quality:
    days: list[DayQuality]

    @property
    def delivered(self) -> int:
        return sum(d.delivered for d in self.days)

    @property
    def liked(self) -> int:
        return sum(d.liked for d in self.days)

    @property
    def skipped(self) -> int:
        return sum(d.skipped for d in self.days)

    @property
    def precision(self) -> float | None:
        return self.liked / self.delivered if self.delivered else None


_QUALITY_SQL = """
SELECT s.match_date AS day, count(DISTINCT s.user_id) AS users, count(*) AS delivered,
       count(*) FILTER (WHERE outcome.kind = 'like') AS liked,
       count(*) FILTER (WHERE outcome.kind = 'skip') AS skipped
FROM daily_match_sets s
JOIN daily_matches m ON m.user_id = s.user_id AND m.match_date = s.match_date
LEFT JOIN LATERAL (
    SELECT i.kind FROM interactions i
    WHERE i.actor_id = m.user_id AND i.target_id = m.candidate_id
      AND i.kind IN ('like', 'skip') AND i.occurred_at >= s.delivered_at
    ORDER BY i.occurred_at DESC, i.id DESC LIMIT 1) outcome ON true
WHERE s.delivered_at IS NOT NULL AND s.match_date > %(since)s AND s.match_date <= %(today)s
GROUP BY s.match_date ORDER BY s.match_date
"""


async def precision_at_10(conn: AsyncConnection[Any], today: date, days: int) -> Quality:
    """Per day and overall, over the `days` UTC days ending with `today`."""
    cur = await conn.execute(_QUALITY_SQL, {"since": today - timedelta(days=days), "today": today})
    return Quality(
        [
            DayQuality(r["day"], r["users"], r["delivered"], r["liked"], r["skipped"])
            for r in await cur.fetchall()
        ]
    )
