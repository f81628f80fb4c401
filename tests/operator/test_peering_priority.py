"""The effective peering priority: the user's ordering kept, ties broken by pod identity."""

from __future__ import annotations

import pytest

from eros.operator.peering import MAX_PRIORITY, TIEBREAK_RANGE, effective_priority, tiebreak


def test_a_higher_user_priority_always_wins() -> None:
    assert effective_priority(1, "zzz") > effective_priority(0, "aaa")
    assert effective_priority(0, "zzz") > effective_priority(-1, "aaa")


def test_equal_priorities_differ_by_identity_and_repeat_per_identity() -> None:
    names = [f"eros-operator-7c9f-{i}" for i in range(50)]
    assert len({effective_priority(5, name) for name in names}) == len(names)
    assert effective_priority(5, "pod-a") == effective_priority(5, "pod-a")


def test_the_tiebreak_stays_below_its_range() -> None:
    assert all(0 <= tiebreak(str(i)) < TIEBREAK_RANGE for i in range(1000))


def test_priorities_stay_exact_in_json_numbers() -> None:
    assert abs(effective_priority(MAX_PRIORITY, "x")) < 2**53
    assert abs(effective_priority(-MAX_PRIORITY, "x")) < 2**53
    with pytest.raises(ValueError, match="within"):
        effective_priority(MAX_PRIORITY + 1, "x")
