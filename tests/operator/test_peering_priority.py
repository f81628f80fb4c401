"""The effective peering priority: the user's ordering kept, ties broken by pod identity;
and kopf's rule for who stands by, applied to a peering object's status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from eros.operator.peering import (
    MAX_PRIORITY,
    TIEBREAK_RANGE,
    Standing,
    combined,
    effective_priority,
    kopf_identity,
    next_salt,
    peers_from_status,
    replica_identity,
    standing,
    tiebreak,
    user_priority,
)


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


NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def entry(priority: int, seen_seconds_ago: float = 0, lifetime: int = 60) -> dict[str, Any]:
    """A peer entry as kopf's keep-alive writes it."""
    lastseen = NOW - timedelta(seconds=seen_seconds_ago)
    return {"priority": priority, "lifetime": lifetime, "lastseen": lastseen.isoformat()}


def test_a_replica_stands_by_for_a_live_peer_of_higher_priority() -> None:
    peers = peers_from_status({"me": entry(5), "b": entry(9), "c": entry(1)}, NOW)
    decided = standing("me", 5, peers, NOW)
    assert decided.paused and decided.in_favour_of == ("b",) and decided.tied == ()


def test_a_peer_whose_lease_ran_out_or_that_left_does_not_count() -> None:
    status = {"me": entry(5), "old": entry(9, seen_seconds_ago=61), "gone": None}
    assert not standing("me", 5, peers_from_status(status, NOW), NOW).paused


def test_kopf_pauses_both_sides_of_an_equal_priority() -> None:
    peers = peers_from_status({"a": entry(7), "b": entry(7)}, NOW)
    assert standing("a", 7, peers, NOW).tied == ("b",)
    assert standing("b", 7, peers, NOW).tied == ("a",)


def test_an_entry_kopf_could_not_have_written_is_skipped() -> None:
    status = {"x": {"priority": "high"}, "y": {"lastseen": "yesterday"}, "z": "?"}
    assert peers_from_status(status, NOW) == []


def test_of_two_tied_replicas_only_the_smaller_identity_moves_and_the_tie_ends() -> None:
    # Two identities of one user priority whose tiebreaks collide, as 1 pair in 2**20 does.
    peers = peers_from_status({"pod-a": entry(42), "pod-b": entry(42)}, NOW)
    assert next_salt("pod-a", 42, 0, peers, NOW) == 1
    assert next_salt("pod-b", 42, 0, peers, NOW) is None
    moved = effective_priority(0, "pod-a", salt=1)
    assert moved != 42 and user_priority(moved) == 0
    after = peers_from_status({"pod-a": entry(moved), "pod-b": entry(42)}, NOW)
    assert standing("pod-a", moved, after, NOW).paused != standing("pod-b", 42, after, NOW).paused


def test_salts_give_another_tiebreak_and_salt_zero_keeps_the_original() -> None:
    assert tiebreak("pod-a", 0) == tiebreak("pod-a")
    assert len({tiebreak("pod-a", salt) for salt in range(20)}) == 20


def test_the_user_priority_is_recovered_from_the_effective_one() -> None:
    for priority in (-3, 0, 7):
        assert user_priority(effective_priority(priority, "pod")) == priority


def test_several_peering_objects_pause_the_operator_when_any_does() -> None:
    both = combined(
        [Standing("me", 1), Standing("me", 1, higher=("b",)), Standing("me", 1, tied=("c",))],
        "me",
        1,
    )
    assert both.paused and both.higher == ("b",) and both.tied == ("c",)
    assert not combined([Standing("me", 1)], "me", 1).paused


def test_the_kopf_identity_is_the_pod_name_or_unique_per_operator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POD_NAME", "eros-operator-7c9f-abcde")
    assert kopf_identity() == replica_identity() == "eros-operator-7c9f-abcde"
    monkeypatch.delenv("POD_NAME")
    assert kopf_identity() != kopf_identity()
    assert kopf_identity().startswith(replica_identity() + "/")
