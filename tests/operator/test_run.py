"""`eros operator`: its options and how they reach kopf."""

from __future__ import annotations

import pytest

from eros.operator.peering import TIEBREAK_RANGE
from eros.operator.run import build_parser, kopf_arguments, options_from_args
from eros.operator.runtime import DEFAULT_LIVENESS_PORT, DEFAULT_METRICS_PORT, OperatorOptions


def options(*argv: str) -> OperatorOptions:
    return options_from_args(build_parser().parse_args(list(argv)))


def test_namespaces_are_repeatable_and_peering_is_on_by_default() -> None:
    chosen = options("-n", "a", "--namespace", "b", "--priority", "7")
    assert chosen.namespaces == ("a", "b")
    assert not chosen.clusterwide
    assert (chosen.peering_name, chosen.standalone) == ("eros", False)
    assert chosen.priority // TIEBREAK_RANGE == 7
    assert (chosen.liveness_port, chosen.metrics_port) == (
        DEFAULT_LIVENESS_PORT,
        DEFAULT_METRICS_PORT,
    )


def test_the_namespace_defaults_to_the_pods(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POD_NAMESPACE", "eros")
    assert options().namespaces == ("eros",)


def test_a_scope_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POD_NAMESPACE", raising=False)
    with pytest.raises(SystemExit, match="--namespace or --all-namespaces"):
        options()


def test_namespaces_and_all_namespaces_exclude_each_other() -> None:
    with pytest.raises(SystemExit):
        options("-n", "a", "-A")


def test_replicas_of_equal_priority_are_told_apart_by_pod_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POD_NAME", "eros-operator-a")
    first = options("-A", "--priority", "3").priority
    monkeypatch.setenv("POD_NAME", "eros-operator-b")
    assert options("-A", "--priority", "3").priority != first


def test_the_options_become_kopfs_arguments() -> None:
    arguments = kopf_arguments(options("-A", "--liveness-port", "8081", "--standalone"))
    assert arguments["clusterwide"] is True
    assert arguments["namespaces"] == []
    assert arguments["liveness_endpoint"] is None  # served by eros.operator.health
    assert arguments["memo"].options.standalone is True
