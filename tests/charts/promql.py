"""The series EROS exports, read from its real registries, and the series a PromQL
expression reads, read from its syntax tree (promql-parser, the Rust parser of
GreptimeDB, which follows Prometheus' grammar).

A dashboard or an alert that names a series nobody exports shows nothing and never
fires, silently; the tests of the dashboards and the alerts check every expression
against `exported_series()`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass

import promql_parser
from prometheus_client import CollectorRegistry

# Labels the Prometheus Operator's ServiceMonitors and PodMonitors give every series
# they scrape (plus `exported_namespace`, an operator series' own `namespace` moved
# aside by the target's).
TARGET_LABELS = frozenset(
    {
        "namespace",
        "exported_namespace",
        "pod",
        "instance",
        "job",
        "service",
        "container",
        "endpoint",
    }
)
# Grafana's built-in variables that stand for a range, and the value that parses.
GRAFANA_RANGES = ("$__rate_interval", "$__interval", "$__range")
SAMPLE_RANGE = "5m"
GRAFANA_VARIABLE = re.compile(r"\$\{?(\w+)\}?")


def _registries() -> dict[str, CollectorRegistry]:
    # Importing the API app and the worker's phases registers every series their
    # processes export (Claude's included), as a running process would.
    import eros.api.app
    import eros.worker.phases  # noqa: F401
    from eros.api.metrics import REGISTRY as API_REGISTRY
    from eros.operator.prometheus import REGISTRY as OPERATOR_REGISTRY
    from eros.pipeline.metrics import SCHEDULER_REGISTRY, WORKER_REGISTRY

    return {
        "api": API_REGISTRY,
        "scheduler": SCHEDULER_REGISTRY,
        "worker": WORKER_REGISTRY,
        "operator": OPERATOR_REGISTRY,
    }


@functools.cache
def exported_series() -> dict[str, frozenset[str]]:
    """Every sample name a process exports (a counter's `_total`, a histogram's `_bucket`,
    `_sum` and `_count` included), with the label names it carries."""
    series: dict[str, set[str]] = {}
    for registry in _registries().values():
        # prometheus_client keeps no public map from sample names to their collector;
        # this one is what its registry checks duplicate names with.
        for name, collector in registry._names_to_collectors.items():
            labels = set(getattr(collector, "_labelnames", ()))
            if name.endswith("_bucket"):
                labels.add("le")
            series.setdefault(name, set()).update(labels)
    return {name: frozenset(labels) for name, labels in series.items()}


@dataclass(frozen=True)
class Selector:
    metric: str | None
    labels: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.metric}{{{', '.join(self.labels)}}}"


def grafana_to_promql(expr: str) -> str:
    """A dashboard query as Prometheus receives it: ranges filled in, variables as words."""
    for variable in GRAFANA_RANGES:
        expr = expr.replace(variable, SAMPLE_RANGE)
    return GRAFANA_VARIABLE.sub(lambda match: match.group(1), expr)


def selectors(expr: str) -> list[Selector]:
    """Every series selector of a PromQL expression; raises ValueError if it does not parse."""
    return list(_walk(promql_parser.parse(expr)))


def _walk(node: object) -> Iterator[Selector]:
    if isinstance(node, promql_parser.VectorSelector):
        labels = [m.name for m in node.matchers.matchers]
        labels += [m.name for group in node.matchers.or_matchers for m in group]
        yield Selector(node.name, tuple(label for label in labels if label != "__name__"))
        return
    if isinstance(node, promql_parser.MatrixSelector):
        yield from _walk(node.vector_selector)
        return
    if isinstance(node, promql_parser.Call):
        for argument in node.args:
            yield from _walk(argument)
        return
    if isinstance(node, promql_parser.BinaryExpr):
        yield from _walk(node.lhs)
        yield from _walk(node.rhs)
        return
    if isinstance(node, promql_parser.AggregateExpr):
        yield from _walk(node.expr)
        if node.param is not None:
            yield from _walk(node.param)
        return
    for attribute in ("expr",):  # ParenExpr, UnaryExpr, SubqueryExpr
        child = getattr(node, attribute, None)
        if child is not None:
            yield from _walk(child)


def problems(expr: str) -> list[str]:
    """What is wrong with the series an expression reads: unknown names, unknown labels."""
    exported = exported_series()
    found = []
    try:
        parsed = selectors(expr)
    except ValueError as error:
        return [f"does not parse: {error}"]
    if not parsed:
        found.append("reads no series")
    for selector in parsed:
        if selector.metric is None:
            found.append(f"{selector} selects by no metric name")
        elif selector.metric not in exported:
            found.append(f"{selector.metric} is exported by no EROS process")
        else:
            unknown = set(selector.labels) - exported[selector.metric] - TARGET_LABELS
            if unknown:
                found.append(f"{selector.metric} has no label {sorted(unknown)}")
    return found
