"""A real Prometheus scrapes a real operator (against the test control plane) with the scrape configuration
the chart's ServiceMonitor implies, while sessions are created, become Ready, lose their room pod, end when
idle and are deleted. Then every dashboard query and alert expression over the operator's metrics
evaluates without error and returns series; the few series that only exist after a failure we do not
cause here (a failed reconcile, a failed archive) are checked against the operator's own registry: the
metric and its label names exist."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from drawnet.operator.metrics import OperatorMetrics
from drawnet.testkit.kube import wait_until
from drawnet.testkit.operator import DrawingSessions, RawKube
from tests.chart.helm import one, template
from tests.monitoring.prometheus import PrometheusServer, Target, scrape_config
from tests.monitoring.rules import (
    alerts,
    as_prometheus_query,
    dashboards,
    panel_queries,
    prometheus,
    rendered_rules,
    selectors,
)

if TYPE_CHECKING:
    from tests.k8s.conftest import StartOperator

pytestmark = pytest.mark.k8s

FAILURE_ONLY = {"drawnet_operator_reconcile_errors_total", "drawnet_operator_archives_total"}
"""Families whose series appear only after a failure (labelled counters start empty)."""


def _operator_families() -> dict[str, set[str]]:
    """Every sample name the operator exports, with its label names (from its registry's definitions)."""
    metrics = OperatorMetrics()
    families: dict[str, set[str]] = {}
    for collector in (metrics.reconciles, metrics.reconcile_errors, metrics.archives, metrics.ended):
        families[collector._name + "_total"] = set(collector._labelnames)
    for family in metrics.registry.collect():
        for sample in family.samples:
            families.setdefault(sample.name, set()).update(sample.labels)
    return families


@pytest.fixture
def watched(
    namespace: str, kube: RawKube, sessions: DrawingSessions, start_operator: StartOperator, tmp_path: Path
) -> Iterator[PrometheusServer]:
    operator = start_operator(resync_seconds=1)
    monitor = one(template({}, tmp_path / "render"), "ServiceMonitor", "-operator")
    target = Target(
        f"127.0.0.1:{operator.metrics_port}", namespace, "operator-0", service="dn-drawnet-operator"
    )
    server = PrometheusServer(
        prometheus(), tmp_path / "prometheus", [scrape_config(monitor, [target], interval="1s")]
    ).start()
    server.wait_for('up{job="drawnet-operator"} == 1')

    sessions.create(DrawingSessions.manifest("steady", {"idleTimeoutSeconds": 0}))
    sessions.create(DrawingSessions.manifest("brief", {"idleTimeoutSeconds": 2, "onIdle": "Stop"}))
    sessions.wait_for_condition("steady", "Ready", "True")
    # A lost room pod is replaced; an idle session ends; a deleted one is archived (skipped: no drawing URL).
    kube.request_sync(
        "DELETE", f"/api/v1/namespaces/{namespace}/pods/room-steady", query={"gracePeriodSeconds": "0"}
    )
    wait_until(lambda: sessions.get("steady")["status"].get("recoveries") == 1, timeout=60, what="a recovery")
    sessions.wait_for_condition("brief", "Ready", "False", reason="Ended", timeout=60)
    sessions.delete("brief")
    sessions.wait_gone("brief")
    for expr in (
        "drawnet_operator_room_pods_replaced_total",
        "drawnet_operator_sessions_ended_total",
        "drawnet_operator_archives_total",
        "rate(drawnet_operator_time_to_ready_seconds_count[1m]) > 0",
    ):
        server.wait_for(expr)
    yield server
    server.stop()


def test_every_operator_query_and_alert_evaluates_and_returns_series(
    watched: PrometheusServer, tmp_path: Path
) -> None:
    families = _operator_families()
    queries = [
        (f"{name} / {title}", as_prometheus_query(expr))
        for name, dashboard in dashboards().items()
        for title, expr in panel_queries(dashboard)
        if "drawnet_operator_" in expr
    ]
    queries += [
        (alert["alert"], alert["expr"])
        for alert in alerts(rendered_rules(tmp_path))
        if "operator" in alert["expr"]
    ]
    assert len(queries) >= 15
    empty = []
    for what, expr in queries:
        watched.query(expr)  # evaluates, or raises with Prometheus' error
        for selector in selectors(expr):
            if watched.query(selector):
                continue
            name = selector.split("{", 1)[0]
            labels = {
                part.split("=")[0].strip().rstrip("!~")
                for part in selector[len(name) + 1 : -1].split(",")
                if part
            }
            known = name in FAILURE_ONLY and labels <= families.get(name, set()) | {"job", "namespace"}
            if not known:
                empty.append(f"{what}: {selector}")
    assert not empty, "selectors without series:\n" + "\n".join(empty)
