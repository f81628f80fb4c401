"""What a replica says about its standing: the "peering" probe's value and the log lines
when it pauses or resumes, decided from the peering object's status."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import kopf
import pytest
from kubernetes.client import ApiClient

from eros.operator.peering import Standing
from eros.operator.runtime import OperatorOptions
from eros.operator.standby import PeeringWatch, Target, targets, transition

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
ME = "eros-operator-5d8f-aaaaa"
PEER = "eros-operator-5d8f-bbbbb"
WHERE = Target("eros", "prod")


def entry(priority: int, seen_seconds_ago: float = 0) -> dict[str, Any]:
    lastseen = (NOW - timedelta(seconds=seen_seconds_ago)).isoformat()
    return {"priority": priority, "lifetime": 60, "lastseen": lastseen}


def a_watch(priority: int) -> PeeringWatch:
    """A watch that is fed statuses by hand; it never calls the API without a tie."""
    settings = kopf.OperatorSettings()
    settings.peering.priority = priority
    return PeeringWatch(ApiClient(), [WHERE], ME, settings, clock=lambda: NOW)


def test_the_probe_says_active_with_the_identity_and_priority() -> None:
    assert Standing(ME, 3).probe() == {"state": "active", "identity": ME, "priority": 3}


def test_the_probe_says_paused_and_in_favour_of_whom() -> None:
    value = Standing(ME, 3, higher=(PEER,)).probe()
    assert value["state"] == "paused" and value["in favour of"] == [PEER]
    assert Standing(ME, 3, tied=(PEER,)).probe()["tied with"] == [PEER]


def test_the_first_standing_is_always_logged_and_an_unchanged_one_never() -> None:
    active = Standing(ME, 3)
    level, line = transition(None, active) or (0, "")
    assert level == logging.INFO and "is active" in line and ME in line
    assert transition(active, Standing(ME, 3)) is None


def test_a_move_to_another_tiebreak_is_logged_with_the_new_priority() -> None:
    level, line = transition(Standing(ME, 3), Standing(ME, 4)) or (0, "")
    assert level == logging.INFO and "peering priority 4) is active" in line


def test_standing_by_for_a_higher_peer_is_information_and_names_it() -> None:
    level, line = transition(Standing(ME, 3), Standing(ME, 3, higher=(PEER,))) or (0, "")
    assert level == logging.INFO
    assert f"standing by in favour of {PEER}" in line and "takes over when they stop" in line


def test_a_tie_is_a_warning_that_says_how_it_ends() -> None:
    level, line = transition(None, Standing(ME, 3, tied=(PEER,))) or (0, "")
    assert level == logging.WARNING and "same priority" in line and "another tiebreak" in line


def test_resuming_names_the_peers_that_left() -> None:
    level, line = transition(Standing(ME, 3, higher=(PEER,)), Standing(ME, 3)) or (0, "")
    assert level == logging.INFO and f"resumes: the peers it stood by for ({PEER}) are gone" in line


def test_the_peering_objects_follow_the_operator_scope() -> None:
    assert targets(OperatorOptions(namespaces=("a", "b"), peering_name="p")) == [
        Target("p", "a"),
        Target("p", "b"),
    ]
    assert targets(OperatorOptions(clusterwide=True, peering_name="p")) == [Target("p")]
    assert targets(OperatorOptions(namespaces=("a",), standalone=True)) == []


def test_a_watch_logs_each_change_of_standing_once(caplog: pytest.LogCaptureFixture) -> None:
    watch = a_watch(priority=5)
    caplog.set_level(logging.INFO, logger="eros.operator.standby")
    watch.observe(WHERE, {ME: entry(5)})
    watch.observe(WHERE, {ME: entry(5), PEER: entry(9)})
    watch.observe(WHERE, {ME: entry(5), PEER: entry(9)})
    assert watch.standing().in_favour_of == (PEER,)
    watch.observe(WHERE, {ME: entry(5)})
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 3
    assert ["is active" in lines[0], "standing by" in lines[1], "resumes" in lines[2]] == [True] * 3
    assert not watch.standing().paused


def test_a_watch_counts_a_peer_out_once_its_lease_runs_out() -> None:
    watch = a_watch(priority=5)
    watch.observe(WHERE, {ME: entry(5), PEER: entry(9, seen_seconds_ago=59)})
    assert watch.standing().paused
    watch.clock = lambda: NOW + timedelta(seconds=2)
    assert not watch.standing().paused


def test_a_deleted_peering_object_leaves_the_replica_active() -> None:
    watch = a_watch(priority=5)
    watch.observe(WHERE, {ME: entry(5), PEER: entry(9)})
    watch.observe(WHERE, None)
    assert not watch.standing().paused


def test_the_probe_says_unknown_until_the_peering_object_was_read() -> None:
    watch = a_watch(priority=5)
    assert watch.probe()["state"] == "unknown"
    assert watch.probe()["not read yet"] == ["KopfPeering prod/eros"]
    watch.observe(WHERE, {ME: entry(5)})
    assert watch.probe() == {"state": "active", "identity": ME, "priority": 5}
