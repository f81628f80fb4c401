"""Standing rules: new, established, good standing, and cooldowns that end by themselves."""

from __future__ import annotations

import math

import numpy as np

from eros.core.matching.standing import (
    COOLDOWN_DAYS,
    COOLDOWN_EXPOSURE_FACTOR,
    ESTABLISHED_MIN_DECISIONS,
    ESTABLISHED_MIN_MEMBERSHIP_DAYS,
    IGNORED_CONVERSATIONS_FOR_COOLDOWN,
    MIN_CONVERSATIONS_FOR_REPLY_RATE,
    REPLY_WINDOW_HOURS,
    REPORTS_FOR_COOLDOWN,
    STANDING_WINDOW_DAYS,
    Conversation,
    StandingColumns,
    StandingFacts,
    cooldown_until,
    ignored_at,
    in_good_standing,
    is_established,
    is_new,
    member_cooldown_until,
    reply_rate_is_low,
)

DAY = 86_400.0
HOUR = 3600.0
NOW = 1_750_000_000.0
REPLY_WINDOW = REPLY_WINDOW_HOURS * HOUR


def veteran(**changes: object) -> StandingFacts:
    """A member for two months with plenty of decisions and a clean record."""
    fields: dict[str, object] = {
        "decisions_made": ESTABLISHED_MIN_DECISIONS,
        "member_since": NOW - 60 * DAY,
    }
    fields.update(changes)
    return StandingFacts(**fields)  # type: ignore[arg-type]


def ignored(count: int, opened_at: float) -> tuple[Conversation, ...]:
    return tuple(Conversation(opened_at + i * HOUR) for i in range(count))


def test_a_member_without_decisions_is_new_and_one_with_a_decision_is_not() -> None:
    assert is_new(StandingFacts(decisions_made=0, member_since=NOW - 100 * DAY))
    assert not is_new(StandingFacts(decisions_made=1, member_since=NOW))


def test_established_takes_both_enough_membership_and_enough_decisions() -> None:
    assert is_established(veteran(), NOW)
    young = NOW - (ESTABLISHED_MIN_MEMBERSHIP_DAYS - 1) * DAY
    assert not is_established(veteran(member_since=young), NOW)
    assert not is_established(veteran(decisions_made=ESTABLISHED_MIN_DECISIONS - 1), NOW)
    assert not is_established(veteran(member_since=None), NOW)


def test_an_open_report_costs_good_standing_but_a_single_one_starts_no_cooldown() -> None:
    reported = veteran(open_reports=1, report_times=(NOW - DAY,))
    assert not in_good_standing(reported, NOW)
    assert member_cooldown_until(reported, NOW) == -math.inf
    assert in_good_standing(veteran(), NOW)


def test_repeated_reports_start_a_cooldown_that_ends_by_itself() -> None:
    second_report = NOW - DAY
    reports = (NOW - 10 * DAY, second_report)
    assert len(reports) == REPORTS_FOR_COOLDOWN
    facts = veteran(report_times=reports)  # reviewed: none open any more

    end = second_report + COOLDOWN_DAYS * DAY
    assert member_cooldown_until(facts, NOW) == end
    assert not in_good_standing(facts, NOW)
    assert in_good_standing(facts, end + 1)


def test_reports_too_far_apart_start_no_cooldown() -> None:
    apart = (NOW - (STANDING_WINDOW_DAYS + 2) * DAY, NOW - DAY)
    assert cooldown_until(apart, REPORTS_FOR_COOLDOWN, NOW) == -math.inf


def test_a_conversation_is_ignored_only_once_its_reply_window_ran_out_unanswered() -> None:
    opened = NOW - 10 * DAY
    late = Conversation(opened, answered_at=opened + REPLY_WINDOW + HOUR)
    answered = Conversation(opened, answered_at=opened + HOUR)
    pending = Conversation(NOW - HOUR)
    assert ignored_at([late, answered, pending, Conversation(opened)], NOW) == [
        opened + REPLY_WINDOW,
        opened + REPLY_WINDOW,
    ]


def test_ghosting_repeatedly_starts_a_cooldown_from_the_last_ignored_conversation() -> None:
    conversations = ignored(IGNORED_CONVERSATIONS_FOR_COOLDOWN, NOW - 5 * DAY)
    facts = veteran(conversations=conversations)
    last_ignored = conversations[-1].opened_at + REPLY_WINDOW
    assert member_cooldown_until(facts, NOW) == last_ignored + COOLDOWN_DAYS * DAY
    assert not in_good_standing(facts, NOW)

    fewer = veteran(conversations=conversations[:-1])
    assert member_cooldown_until(fewer, NOW) == -math.inf


def test_a_low_reply_rate_is_judged_only_with_enough_conversations() -> None:
    opened = NOW - 10 * DAY
    answered = Conversation(opened, answered_at=opened + HOUR)
    enough = MIN_CONVERSATIONS_FOR_REPLY_RATE
    mostly_ignored = (answered, *ignored(enough - 1, opened))
    assert reply_rate_is_low(mostly_ignored, NOW)
    assert not reply_rate_is_low(mostly_ignored[: enough - 1], NOW)
    half = (answered, answered, *ignored(2, opened))
    assert not reply_rate_is_low(half, NOW)


def test_standing_columns_mark_new_trusted_and_cooling_down_rows() -> None:
    newcomer = StandingFacts(decisions_made=0, member_since=NOW - DAY)
    cooling = veteran(report_times=(NOW - 2 * DAY, NOW - DAY))
    cols = StandingColumns.build([newcomer, veteran(), cooling, None], NOW)

    assert cols.new.tolist() == [True, False, False, False]
    assert cols.trusted.tolist() == [False, True, False, False]
    assert cols.good.tolist() == [True, True, False, True]
    rows = np.arange(4, dtype=np.int64)
    assert cols.exposure_factor(rows, NOW).tolist() == [1.0, 1.0, COOLDOWN_EXPOSURE_FACTOR, 1.0]
    after = NOW + COOLDOWN_DAYS * DAY
    assert cols.exposure_factor(rows, after).tolist() == [1.0, 1.0, 1.0, 1.0]
