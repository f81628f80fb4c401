"""Members' standing: who is new, who is established, who is in good standing, and who
is in a cooldown, as pure rules over a few facts per member.

- *New*: has made no decision (like or skip) yet.
- *Established*: a member for at least `ESTABLISHED_MIN_MEMBERSHIP_DAYS` who has made at
  least `ESTABLISHED_MIN_DECISIONS` decisions.
- *In good standing*: no open report against them, not in a cooldown, and a reply rate
  that is not low (at least `MIN_REPLY_RATE` of the conversations others opened with
  them in the last `STANDING_WINDOW_DAYS` were answered within `REPLY_WINDOW_HOURS`,
  judged once there are `MIN_CONVERSATIONS_FOR_REPLY_RATE` of them).
- *Trusted*: established and in good standing; new members are paired with them first
  (see `eros.core.matching.onboarding`).
- *Cooldown*: `REPORTS_FOR_COOLDOWN` distinct reporters (dismissed reports aside), or
  `IGNORED_CONVERSATIONS_FOR_COOLDOWN` ignored conversations (opened by someone else and
  not answered within `REPLY_WINDOW_HOURS`), within `STANDING_WINDOW_DAYS` start a
  cooldown of `COOLDOWN_DAYS` from the event that completes the count. During it the
  member's score is multiplied by `COOLDOWN_EXPOSURE_FACTOR` and so is their per-day
  exposure cap; afterwards they recover by themselves.

The facts are loaded from PostgreSQL by `eros.core.standing`; everything here is pure.
Times are epoch seconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "COOLDOWN_DAYS",
    "COOLDOWN_EXPOSURE_FACTOR",
    "ESTABLISHED_MIN_DECISIONS",
    "ESTABLISHED_MIN_MEMBERSHIP_DAYS",
    "IGNORED_CONVERSATIONS_FOR_COOLDOWN",
    "MIN_CONVERSATIONS_FOR_REPLY_RATE",
    "MIN_REPLY_RATE",
    "REPLY_WINDOW_HOURS",
    "REPORTS_FOR_COOLDOWN",
    "STANDING_LOOKBACK_SECONDS",
    "STANDING_WINDOW_DAYS",
    "Conversation",
    "StandingColumns",
    "StandingFacts",
    "cooldown_until",
    "ignored_at",
    "in_good_standing",
    "is_established",
    "is_new",
    "member_cooldown_until",
    "reply_rate_is_low",
]

SECONDS_PER_HOUR = 3600.0
SECONDS_PER_DAY = 86_400.0

ESTABLISHED_MIN_MEMBERSHIP_DAYS = 14.0
"""Days since the account was created before a member can count as established."""
ESTABLISHED_MIN_DECISIONS = 20
"""Likes and skips (distinct people) a member must have made to count as established."""
REPLY_WINDOW_HOURS = 72.0
"""A conversation someone else opened and the member has not answered within this is ignored."""
STANDING_WINDOW_DAYS = 30.0
"""Reports and conversations count towards standing (cooldowns, reply rate) this long."""
MIN_REPLY_RATE = 0.5
"""A reply rate below this share of answered conversations is low."""
MIN_CONVERSATIONS_FOR_REPLY_RATE = 4
"""Conversations (whose reply window has passed) needed before a reply rate is judged."""
REPORTS_FOR_COOLDOWN = 2
"""Distinct reporters within the standing window that start a cooldown."""
IGNORED_CONVERSATIONS_FOR_COOLDOWN = 3
"""Ignored conversations within the standing window that start a cooldown."""
COOLDOWN_DAYS = 7.0
"""How long a cooldown lasts from the event that started (or last renewed) it."""
COOLDOWN_EXPOSURE_FACTOR = 0.5
"""During a cooldown, the member's match score and per-day exposure cap are scaled by this."""
STANDING_LOOKBACK_SECONDS = (
    STANDING_WINDOW_DAYS + COOLDOWN_DAYS
) * SECONDS_PER_DAY + REPLY_WINDOW_HOURS * SECONDS_PER_HOUR
"""Older reports and conversations cannot affect standing any more: loaders stop there."""

Bool = NDArray[np.bool_]
Float64 = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Conversation:
    """A conversation someone else opened with the member: when, and the member's first
    answer (None when there is none yet)."""

    opened_at: float
    answered_at: float | None = None


@dataclass(frozen=True, slots=True)
class StandingFacts:
    """What standing is decided from, for one member, as of the time it was loaded.

    `report_times` holds, per distinct reporter whose report is not dismissed, the time of
    their latest report (only the recent ones matter); `open_reports` counts distinct
    reporters with a report still open, however old.
    """

    decisions_made: int = 0
    member_since: float | None = None
    open_reports: int = 0
    report_times: tuple[float, ...] = ()
    conversations: tuple[Conversation, ...] = ()


def is_new(facts: StandingFacts) -> bool:
    return facts.decisions_made == 0


def is_established(facts: StandingFacts, now: float) -> bool:
    if facts.member_since is None:
        return False
    member_days = (now - facts.member_since) / SECONDS_PER_DAY
    return (
        member_days >= ESTABLISHED_MIN_MEMBERSHIP_DAYS
        and facts.decisions_made >= ESTABLISHED_MIN_DECISIONS
    )


def ignored_at(conversations: Sequence[Conversation], now: float) -> list[float]:
    """When each ignored conversation became ignored (its reply window ran out), ascending.

    Only conversations whose window has run out by `now` can be ignored; an answer after
    the window does not undo it.
    """
    window = REPLY_WINDOW_HOURS * SECONDS_PER_HOUR
    times = []
    for c in conversations:
        deadline = c.opened_at + window
        if deadline <= now and (c.answered_at is None or c.answered_at > deadline):
            times.append(deadline)
    return sorted(times)


def reply_rate_is_low(conversations: Sequence[Conversation], now: float) -> bool:
    """Fewer than `MIN_REPLY_RATE` of the recent, judgeable conversations were answered."""
    window = REPLY_WINDOW_HOURS * SECONDS_PER_HOUR
    since = now - STANDING_WINDOW_DAYS * SECONDS_PER_DAY
    judged = [c for c in conversations if since <= c.opened_at and c.opened_at + window <= now]
    if len(judged) < MIN_CONVERSATIONS_FOR_REPLY_RATE:
        return False
    answered = sum(
        1 for c in judged if c.answered_at is not None and c.answered_at <= c.opened_at + window
    )
    return answered / len(judged) < MIN_REPLY_RATE


def cooldown_until(times: Sequence[float], threshold: int, now: float) -> float:
    """The end of the latest cooldown that events at `times` started by `now`; -inf if none.

    A cooldown starts at an event that completes `threshold` events within
    `STANDING_WINDOW_DAYS` (itself included) and lasts `COOLDOWN_DAYS`.
    """
    window = STANDING_WINDOW_DAYS * SECONDS_PER_DAY
    past = sorted(t for t in times if t <= now)
    end = -math.inf
    for i in range(threshold - 1, len(past)):
        if past[i] - past[i - threshold + 1] <= window:
            end = past[i] + COOLDOWN_DAYS * SECONDS_PER_DAY
    return end


def member_cooldown_until(facts: StandingFacts, now: float) -> float:
    """The end of the member's current or latest cooldown, from reports or ghosting."""
    return max(
        cooldown_until(facts.report_times, REPORTS_FOR_COOLDOWN, now),
        cooldown_until(
            ignored_at(facts.conversations, now), IGNORED_CONVERSATIONS_FOR_COOLDOWN, now
        ),
    )


def in_good_standing(facts: StandingFacts, now: float) -> bool:
    return (
        facts.open_reports == 0
        and member_cooldown_until(facts, now) <= now
        and not reply_rate_is_low(facts.conversations, now)
    )


@dataclass(frozen=True, slots=True, eq=False)
class StandingColumns:
    """Standing per pool row, decided once per batch at `as_of` (epoch s).

    A row without facts is neutral: not new, not trusted, in good standing, no cooldown.
    """

    new: Bool
    trusted: Bool
    good: Bool
    cooldown_end: Float64

    def __len__(self) -> int:
        return int(self.new.shape[0])

    @classmethod
    def neutral(cls, size: int) -> StandingColumns:
        return cls(
            new=np.zeros(size, np.bool_),
            trusted=np.zeros(size, np.bool_),
            good=np.ones(size, np.bool_),
            cooldown_end=np.full(size, -np.inf),
        )

    @classmethod
    def build(cls, facts: Sequence[StandingFacts | None], now: float) -> StandingColumns:
        cols = cls.neutral(len(facts))
        for row, f in enumerate(facts):
            if f is None:
                continue
            good = in_good_standing(f, now)
            cols.new[row] = is_new(f)
            cols.good[row] = good
            cols.trusted[row] = good and is_established(f, now)
            cols.cooldown_end[row] = member_cooldown_until(f, now)
        return cols

    def cooling_down(self, rows: NDArray[np.int64], now: float) -> Bool:
        """Which of `rows` are in a cooldown at `now`."""
        return np.asarray(self.cooldown_end[rows] > now)

    def exposure_factor(self, rows: NDArray[np.int64], now: float) -> Float64:
        """What each row's score and exposure cap are multiplied by at `now`."""
        return np.where(self.cooling_down(rows, now), COOLDOWN_EXPOSURE_FACTOR, 1.0)
