"""The PrometheusRule: off by default; when on, every alert reads series EROS exports,
links to a runbook section that exists, and has the shape the Prometheus Operator's CRD
takes (checked here field by field: its schema is not shipped with the chart)."""

from __future__ import annotations

import re
from typing import Any

import helm_python
import pytest

from eros.operator.planner import PlanReason
from tests.charts.chart import (
    CHART_DIR,
    NAMESPACE,
    REPO_ROOT,
    chart,
    kube_version,
    render,
    scenario_values,
)
from tests.charts.promql import problems, selectors

RUNBOOKS = REPO_ROOT / "docs" / "runbooks.md"
LINT_WARNING = 2
# Prometheus' duration syntax, as the CRD's `for` pattern has it.
DURATION = re.compile(
    r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"
)
SEVERITIES = {"critical", "warning", "info"}
RULE_KEYS = {"alert", "expr", "for", "labels", "annotations", "keep_firing_for"}
# What the issue asks to be alerted on, by alert name.
REQUIRED_ALERTS = {
    "ErosSchedulerNoLeader",
    "ErosSchedulerLagging",
    "ErosOperatorDegraded",
    "ErosOperatorNotTicking",
    "ErosPhaseAtBudgetBacklogGrowing",
    "ErosHaltLatencyHigh",
    "ErosJobsFailing",
    "ErosRedisUnreachable",
    "ErosPostgreSQLUnreachable",
    "ErosDailyMatchesNotReady",
}


def _values(**overrides: Any) -> dict[str, Any]:
    return {**scenario_values("minimal"), **overrides}


def _rule(values: dict[str, Any]) -> dict[str, Any] | None:
    rules = render(values).of_kind("PrometheusRule")
    assert len(rules) <= 1
    return rules[0].manifest if rules else None


def _alerts(values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    rule = _rule(values or _values(prometheusRule={"enabled": True}))
    assert rule is not None
    return [entry for group in rule["spec"]["groups"] for entry in group["rules"]]


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def runbook_anchors() -> set[str]:
    headings = re.findall(r"^#{1,6} (.+)$", RUNBOOKS.read_text(), flags=re.MULTILINE)
    return {github_anchor(heading) for heading in headings}


def test_no_prometheus_rule_is_rendered_by_default() -> None:
    assert _rule(_values()) is None


def test_the_rule_alerts_on_everything_the_issue_names() -> None:
    names = [alert["alert"] for alert in _alerts()]
    assert len(names) == len(set(names))
    assert set(names) == REQUIRED_ALERTS


def test_every_alert_reads_only_series_that_eros_exports() -> None:
    wrong = {alert["alert"]: found for alert in _alerts() if (found := problems(alert["expr"]))}
    assert not wrong


def test_every_selector_is_held_to_the_release_namespace() -> None:
    for alert in _alerts():
        for selector in selectors(alert["expr"]):
            assert "namespace" in selector.labels, f"{alert['alert']}: {selector}"
        assert f'namespace="{NAMESPACE}"' in alert["expr"], alert["alert"]


def test_every_runbook_link_points_at_a_section_of_docs_runbooks() -> None:
    base = chart().merge_values(_values())["prometheusRule"]["runbookBaseUrl"]
    anchors = runbook_anchors()
    for alert in _alerts():
        url = alert["annotations"]["runbook_url"]
        page, _, anchor = url.partition("#")
        assert page == base, alert["alert"]
        assert anchor in anchors, f"{alert['alert']}: no section #{anchor} in docs/runbooks.md"
        assert anchor == alert["alert"].lower(), "the section is named after its alert"


def test_every_runbook_section_of_an_alert_belongs_to_an_alert_that_exists() -> None:
    sections = set(re.findall(r"^## (Eros\w+)$", RUNBOOKS.read_text(), flags=re.MULTILINE))
    assert sections == REQUIRED_ALERTS


def test_each_rule_has_the_shape_the_prometheus_operator_admits() -> None:
    rule = _rule(_values(prometheusRule={"enabled": True}))
    assert rule is not None
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["metadata"]["namespace"] == NAMESPACE
    assert set(rule["spec"]) == {"groups"}
    group_names = [group["name"] for group in rule["spec"]["groups"]]
    assert len(group_names) == len(set(group_names))
    for group in rule["spec"]["groups"]:
        assert set(group) <= {"name", "rules", "interval", "limit"}
        for alert in group["rules"]:
            assert set(alert) <= RULE_KEYS, alert["alert"]
            assert isinstance(alert["expr"], str) and alert["expr"].strip()
            assert DURATION.match(alert.get("for", "0")), alert["alert"]
            for mapping in (alert["labels"], alert["annotations"]):
                assert all(isinstance(v, str) for v in mapping.values()), alert["alert"]


def test_every_alert_says_how_urgent_it_is_and_what_happened() -> None:
    for alert in _alerts():
        assert alert["labels"]["severity"] in SEVERITIES, alert["alert"]
        assert alert["annotations"]["summary"] and alert["annotations"]["description"]


def test_thresholds_extra_labels_and_the_runbook_base_come_from_the_values() -> None:
    values = {
        "enabled": True,
        "labels": {"release": "kube-prometheus-stack"},
        "alertLabels": {"team": "platform"},
        "runbookBaseUrl": "https://wiki.example.com/eros/runbooks",
        "schedulerLagSeconds": 45,
        "haltLatencySeconds": 0.25,
        "failedJobs": 3,
        "failureWindow": "1h",
        "dailyMatchesPhase": "deep",
    }
    rule = _rule(_values(prometheusRule=values))
    assert rule is not None
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    alerts = {a["alert"]: a for group in rule["spec"]["groups"] for a in group["rules"]}
    assert all(a["labels"]["team"] == "platform" for a in alerts.values())
    assert all(
        a["annotations"]["runbook_url"].startswith("https://wiki.example.com/eros/runbooks#")
        for a in alerts.values()
    )
    assert alerts["ErosSchedulerLagging"]["expr"].endswith("> 45")
    assert alerts["ErosHaltLatencyHigh"]["expr"].endswith("> 0.25")
    assert "[1h])) >= 3" in alerts["ErosJobsFailing"]["expr"]
    assert 'phase="deep"' in alerts["ErosDailyMatchesNotReady"]["expr"]


def test_a_missing_scheduler_or_operator_is_an_alert_only_when_the_chart_deploys_one() -> None:
    on = {a["alert"]: a["expr"] for a in _alerts()}
    assert "absent(eros_scheduler_leader" in on["ErosSchedulerNoLeader"]
    assert "absent(eros_operator_last_tick" in on["ErosOperatorNotTicking"]
    off = {
        a["alert"]: a["expr"]
        for a in _alerts(
            _values(
                prometheusRule={"enabled": True},
                scheduler={"enabled": False},
                operator={"enabled": False},
            )
        )
    }
    assert "absent(" not in off["ErosSchedulerNoLeader"]
    assert "absent(" not in off["ErosOperatorNotTicking"]


@pytest.mark.parametrize(
    "values",
    [
        {"enabled": True, "runbookBaseUrl": "docs/runbooks.md"},
        {"enabled": True, "runbookBaseUrl": "https://example.com/runbooks.md#top"},
        {"enabled": True, "failureWindow": "half an hour"},
        {"enabled": True, "haltLatencySeconds": 0},
        {"enabled": True, "severity": "page"},
    ],
    ids=[
        "a relative runbook URL",
        "a URL with an anchor",
        "a window that is no duration",
        "a zero threshold",
        "an unknown key",
    ],
)
def test_the_schema_rejects_bad_rule_values(values: dict[str, Any]) -> None:
    with pytest.raises(helm_python.HelmValuesError):
        chart().validate_schema(_values(prometheusRule=values))


def test_strict_lint_passes_with_the_rule_on() -> None:
    report = helm_python.lint(
        CHART_DIR,
        _values(prometheusRule={"enabled": True}),
        strict=True,
        namespace=NAMESPACE,
        kube_version=f"v{kube_version()}",
    )
    assert not [m for m in report["messages"] if m["severity"] >= LINT_WARNING], report
    assert not report["errors"], report["errors"]


def test_the_budget_alert_names_only_reasons_the_planner_gives() -> None:
    (alert,) = [a for a in _alerts() if a["alert"] == "ErosPhaseAtBudgetBacklogGrowing"]
    named = re.search(r'reason=~"([^"]+)"', alert["expr"])
    assert named is not None
    assert set(named.group(1).split("|")) <= {reason.value for reason in PlanReason}


def test_the_daily_matches_phase_is_the_deepest_phase_of_the_default_resource() -> None:
    merged = chart().merge_values(_values())
    deepest = merged["erosProcessing"]["phases"][-1]["name"]
    assert merged["prometheusRule"]["dailyMatchesPhase"] == deepest
