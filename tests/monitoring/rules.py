"""What the chart tells Prometheus, as Prometheus' own files: the rendered PrometheusRule as a rule file,
the rendered ServiceMonitors/PodMonitor as scrape configurations, the dashboards' queries."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from tests.chart.helm import CHART, find, template
from tests.conftest import missing_dependency


def promtool() -> Path:
    """Debian's promtool (package `prometheus`, installed by tools/bootstrap.sh --test)."""
    found = shutil.which("promtool")
    if found is None:
        missing_dependency("promtool is missing: apt-get install prometheus (tools/bootstrap.sh --test)")
        raise AssertionError  # unreachable: missing_dependency skips or fails
    return Path(found)


def prometheus() -> Path:
    found = shutil.which("prometheus")
    if found is None:
        missing_dependency("prometheus is missing: apt-get install prometheus (tools/bootstrap.sh --test)")
        raise AssertionError  # unreachable: missing_dependency skips or fails
    return Path(found)


def rendered_rules(directory: Path, values: dict[str, Any] | None = None) -> dict[str, Any]:
    """The groups of the PrometheusRule the chart renders, as a Prometheus rule file's content."""
    (rule,) = find(template(values or {}, directory), "PrometheusRule")
    return {"groups": rule["spec"]["groups"]}


def alerts(rules: dict[str, Any]) -> list[dict[str, Any]]:
    return [rule for group in rules["groups"] for rule in group["rules"] if "alert" in rule]


def dashboards() -> dict[str, dict[str, Any]]:
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(CHART.glob("dashboards/*.json"))
    }


def panel_queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, PromQL) of every target of every panel."""
    return [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__range": "5m", "$__interval": "15s", "$namespace": ".*"}


def as_prometheus_query(expr: str) -> str:
    """A dashboard query with Grafana's variables replaced as Grafana would (all namespaces, a 1m rate
    window)."""
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, f"a Grafana variable is left in {expr}"
    return expr


_SELECTOR = re.compile(r"\b(drawnet_[a-z0-9_]+|up)(\{[^}]*\})?")


def selectors(expr: str) -> list[str]:
    """The vector selectors of one of our expressions (`metric{labels}`): the series its answer is made
    of. Our metric names start with `drawnet_`; `up` is Prometheus' own."""
    return [name + labels for name, labels in _SELECTOR.findall(expr)]
