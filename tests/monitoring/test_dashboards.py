"""The Grafana dashboards are code (tools/chart/dashboards.py, grafana-foundation-sdk): the chart's JSON is
exactly what the code makes, reads back into the SDK's dashboard model, and is well formed for Grafana
(unique uids and panel ids, a reference id per query, every query on the chosen Prometheus data source).
Their queries are evaluated against real metrics in test_prometheus.py and test_chart_operator_metrics.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard

from tests.chart.helm import ROOT, find, template
from tests.monitoring.rules import dashboards, panel_queries

EXPECTED = {"overview", "rooms", "persistence", "operator"}


def test_the_charts_dashboards_are_what_the_code_makes() -> None:
    result = subprocess.run(
        [sys.executable, ROOT / "tools" / "chart" / "dashboards.py", "--check"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert set(dashboards()) == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_dashboard_reads_back_into_grafanas_model(name: str) -> None:
    data = dashboards()[name]
    model = Dashboard.from_json(data)
    assert model.uid == f"drawnet-{name}"
    assert json.loads(json.dumps(model, cls=JSONEncoder))["title"] == data["title"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_dashboard_is_well_formed_for_grafana(name: str) -> None:
    data = dashboards()[name]
    ids = [panel["id"] for panel in data["panels"]]
    assert len(ids) == len(set(ids))
    variables = {v["name"]: v for v in data["templating"]["list"]}
    assert variables["datasource"]["query"] == "prometheus"
    assert variables["namespace"]["includeAll"] is True
    for panel in data["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["description"], panel["title"]
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert ref_ids, panel["title"]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]
        assert "" not in ref_ids, panel["title"]
    assert len(panel_queries(data)) >= 8


def test_the_chart_ships_each_dashboard_as_a_configmap_grafanas_sidecar_loads(tmp_path: Path) -> None:
    maps = [
        m for m in find(template({}, tmp_path), "ConfigMap") if "grafana_dashboard" in m["metadata"]["labels"]
    ]
    assert {m["metadata"]["labels"]["grafana_dashboard"] for m in maps} == {"1"}
    shipped: dict[str, Any] = {}
    for config_map in maps:
        ((key, text),) = config_map["data"].items()
        shipped[key.removesuffix(".json")] = json.loads(text)
        assert config_map["metadata"]["annotations"] == {"grafana_folder": "Drawnet"}
    assert shipped == dashboards()
