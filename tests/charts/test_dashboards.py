"""The Grafana dashboards: one JSON source each in charts/eros/dashboards/, shipped as
ConfigMaps for Grafana's sidecar when enabled, and every query reads series EROS exports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import helm_python
import pytest

from tests.charts.chart import CHART_DIR, NAMESPACE, chart, kube_version, render, scenario_values
from tests.charts.promql import grafana_to_promql, problems, selectors

DASHBOARDS_DIR = CHART_DIR / "dashboards"
DASHBOARD_FILES = sorted(DASHBOARDS_DIR.glob("*.json"))
LINT_WARNING = 2
GRID_COLUMNS = 24
DATASOURCE = "${datasource}"
# What the issue asks each dashboard to show, as the series that carry it.
REQUIRED_SERIES = {
    "overview": {
        "eros_users_per_phase",
        "eros_operator_desired_replicas",
        "eros_operator_ready_replicas",
        "eros_operator_budget_replicas",
        "eros_operator_cpu_allocated_cores",
        "eros_api_halts_requested_total",
        "eros_api_halt_latency_seconds_bucket",
        "eros_job_halt_latency_seconds_bucket",
        "eros_scheduler_lag_seconds",
        "eros_scheduler_leader",
        "eros_http_request_duration_seconds_bucket",
        "eros_http_requests_total",
    },
    "pipeline": {
        "eros_job_duration_seconds_bucket",
        "eros_job_duration_seconds_count",
        "eros_jobs_retried_total",
        "eros_jobs_failed_total",
        "eros_checkpoints_saved_total",
        "eros_llm_calls_total",
        "eros_llm_call_duration_seconds_bucket",
        "eros_llm_tokens_total",
    },
}


def _load(path: Path) -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(path.read_text())
    return dashboard


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    panels = []
    for panel in dashboard["panels"]:
        panels.append(panel)
        panels.extend(panel.get("panels", []))  # a collapsed row holds its panels
    return panels


def _queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (panel["title"], target["expr"])
        for panel in _panels(dashboard)
        for target in panel.get("targets", [])
    ]


def _values(**overrides: Any) -> dict[str, Any]:
    return {**scenario_values("minimal"), **overrides}


def _config_maps(values: dict[str, Any]) -> list[dict[str, Any]]:
    rendering = render(values)
    return [
        r.manifest
        for r in rendering.of_kind("ConfigMap")
        if r.template.startswith("templates/grafana/")
    ]


@pytest.fixture(params=DASHBOARD_FILES, ids=[path.stem for path in DASHBOARD_FILES])
def dashboard(request: pytest.FixtureRequest) -> dict[str, Any]:
    return _load(request.param)


def test_the_chart_ships_an_overview_and_a_pipeline_dashboard() -> None:
    assert {path.stem for path in DASHBOARD_FILES} == set(REQUIRED_SERIES)


def test_every_query_reads_only_series_that_eros_exports(dashboard: dict[str, Any]) -> None:
    wrong = {
        f"{title}: {expr}": found
        for title, expr in _queries(dashboard)
        if (found := problems(grafana_to_promql(expr)))
    }
    assert not wrong


def test_the_template_variables_read_exported_series_too(dashboard: dict[str, Any]) -> None:
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]["query"]
            metric = query.removeprefix("label_values(").split(",")[0]
            assert not problems(metric), query


def test_each_dashboard_shows_what_the_issue_asks_of_it() -> None:
    for path in DASHBOARD_FILES:
        text = " ".join(expr for _, expr in _queries(_load(path)))
        missing = {name for name in REQUIRED_SERIES[path.stem] if name not in text}
        assert not missing, f"{path.name} shows nothing of {sorted(missing)}"


def test_the_prometheus_datasource_is_a_variable_every_panel_uses(
    dashboard: dict[str, Any],
) -> None:
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for panel in _panels(dashboard):
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == DATASOURCE, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == DATASOURCE, panel["title"]


def test_panels_fit_the_grid_and_have_unique_ids_titles_and_descriptions(
    dashboard: dict[str, Any],
) -> None:
    panels = _panels(dashboard)
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids))
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= GRID_COLUMNS, panel["title"]
        if panel["type"] != "row":
            assert panel["description"], panel["title"]
            assert panel["targets"], panel["title"]
    titles = [panel["title"] for panel in panels if panel["type"] != "row"]
    assert len(titles) == len(set(titles))


def test_dashboards_have_stable_distinct_uids() -> None:
    uids = [_load(path)["uid"] for path in DASHBOARD_FILES]
    assert all(uid.startswith("eros-") for uid in uids)
    assert len(uids) == len(set(uids))


def test_no_dashboard_configmap_is_rendered_by_default() -> None:
    assert not _config_maps(_values())


def test_each_dashboard_becomes_one_labelled_configmap_holding_its_json_unchanged() -> None:
    config_maps = _config_maps(_values(grafanaDashboards={"enabled": True}))
    assert len(config_maps) == len(DASHBOARD_FILES)
    for config_map, path in zip(
        sorted(config_maps, key=lambda c: str(c["metadata"]["name"])), DASHBOARD_FILES, strict=True
    ):
        assert config_map["metadata"]["name"] == f"eros-dashboard-{path.stem}"
        assert config_map["metadata"]["namespace"] == NAMESPACE
        assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert json.loads(config_map["data"][path.name]) == _load(path)


def test_the_label_namespace_and_annotations_come_from_the_values() -> None:
    values = {
        "enabled": True,
        "labelKey": "example.com/dashboard",
        "labelValue": "eros",
        "namespace": "monitoring",
        "labels": {"team": "platform"},
        "annotations": {"grafana_folder": "EROS"},
    }
    for config_map in _config_maps(_values(grafanaDashboards=values)):
        metadata = config_map["metadata"]
        assert metadata["namespace"] == "monitoring"
        assert metadata["labels"]["example.com/dashboard"] == "eros"
        assert "grafana_dashboard" not in metadata["labels"]
        assert metadata["labels"]["team"] == "platform"
        assert metadata["annotations"] == {"grafana_folder": "EROS"}


@pytest.mark.parametrize(
    "values",
    [{"enabled": "yes"}, {"enabled": True, "labelKey": ""}, {"enabled": True, "folder": "EROS"}],
    ids=["enabled is no boolean", "an empty label key", "an unknown key"],
)
def test_the_schema_rejects_bad_dashboard_values(values: dict[str, Any]) -> None:
    with pytest.raises(helm_python.HelmValuesError):
        chart().validate_schema(_values(grafanaDashboards=values))


def test_strict_lint_passes_with_the_dashboards_on() -> None:
    report = helm_python.lint(
        CHART_DIR,
        _values(grafanaDashboards={"enabled": True}),
        strict=True,
        namespace=NAMESPACE,
        kube_version=f"v{kube_version()}",
    )
    assert not [m for m in report["messages"] if m["severity"] >= LINT_WARNING], report
    assert not report["errors"], report["errors"]


def test_every_query_is_held_to_the_chosen_namespace(dashboard: dict[str, Any]) -> None:
    for title, expr in _queries(dashboard):
        for selector in selectors(grafana_to_promql(expr)):
            assert "namespace" in selector.labels, f"{title}: {selector}"
        assert 'namespace=~"$namespace"' in expr, title
