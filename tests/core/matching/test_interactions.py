from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from eros.core.matching import (
    AvailabilityWindow,
    Interaction,
    InteractionKind,
    InteractionLog,
    MatchVocabulary,
    NonNegotiable,
    NonNegotiableKind,
)
from eros.core.matching.interactions import NO_DECISION, SHOWN_KINDS
from eros.core.matching.pool import MISSING_SLIDER, availability_bits, profile_completeness
from tests.core.matching.builders import BASE, NOW, man, pool_of, profile


def test_the_log_keeps_each_pairs_latest_decision_and_counts_users_outside_the_pool() -> None:
    pool = pool_of([profile("her"), man("him")])
    log = InteractionLog.from_events(
        [
            Interaction("her", "him", InteractionKind.SKIP, NOW - timedelta(days=2)),
            Interaction("her", "him", InteractionKind.LIKE, NOW - timedelta(days=1)),
            Interaction("her", "him", InteractionKind.VIEW, NOW),
            Interaction("paused_user", "him", InteractionKind.LIKE, NOW),
        ],
        pool,
    )
    her, him = pool.row_of("her"), pool.row_of("him")
    assert log.decisions_of(her, np.asarray([him, her])).tolist() == [1, NO_DECISION]
    actors = log.decisions_toward(him, np.asarray([her, 2, 3]))
    assert actors.tolist() == [1, 1, NO_DECISION]  # key 2 is the paused user
    assert log.targets_of(her, SHOWN_KINDS).tolist() == [him]
    assert log.targets_of(her, SHOWN_KINDS, since=NOW.timestamp() + 1).size == 0


def test_an_empty_log_answers_every_question_with_nothing() -> None:
    log = InteractionLog.empty()
    rows = np.asarray([0, 1])
    assert log.decisions_of(0, rows).tolist() == [NO_DECISION, NO_DECISION]
    assert log.decisions_toward(0, rows).tolist() == [NO_DECISION, NO_DECISION]
    assert log.decided_by(0)[0].size == 0


def test_profiles_outside_the_vocabulary_or_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="vocabulary"):
        pool_of([profile("x", interests={"knitting": 50.0})])
    with pytest.raises(ValueError, match="outside"):
        profile("x", values={"honesty": 101.0})
    with pytest.raises(ValueError, match="empty"):
        profile("x", age_min=40, age_max=30)
    with pytest.raises(ValueError, match="at most"):
        profile("x", non_negotiables=(NonNegotiable(NonNegotiableKind.VALUE, "honesty"),) * 4)
    with pytest.raises(ValueError, match="duplicate"):
        MatchVocabulary(("a", "a"), (), (), (), ())
    with pytest.raises(ValueError, match="within one day"):
        AvailabilityWindow(0, 600, 600)


def test_unset_sliders_are_stored_as_missing_not_zero() -> None:
    cols = pool_of([profile("x", values={"honesty": 0.0}, communication_style={})]).columns
    assert cols.values[0].tolist() == [0, MISSING_SLIDER, MISSING_SLIDER]
    assert cols.communication[0].tolist() == [MISSING_SLIDER, MISSING_SLIDER]


def test_availability_is_kept_as_weekly_hour_slots_and_completeness_counts_sections() -> None:
    window = AvailabilityWindow(weekday=1, start_minute=9 * 60 + 30, end_minute=11 * 60)
    bits = availability_bits(profile("x", availability=(window,)))
    # Tuesday 9:30-11:00 touches the 9 and 10 o'clock slots: hours 33 and 34 of the week.
    assert bits[0] == (1 << 33) | (1 << 34) and bits[1:] == [0, 0]
    assert profile_completeness(BASE) == 5 / 8  # no photos, no bio, no availability
    empty = profile("x", interests={}, values={}, communication_style={}, conversation_depth=None,
                    latitude=None, longitude=None, birth_date=date(2000, 1, 1))  # fmt: skip
    assert profile_completeness(empty) == 0.0
