"""A real Prometheus scrapes a real operator (against the test control plane) with the scrape configuration
the chart's ServiceMonitor implies, while sessions are created, become Ready, lose their room pod, end when
idle, fail to get a room and fail to be archived. Then every dashboard query and alert expression over the
operator's metrics evaluates without error and returns series."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from drawnet.embedded.components import free_port
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


@pytest.fixture
def watched(
    namespace: str, kube: RawKube, sessions: DrawingSessions, start_operator: StartOperator, tmp_path: Path
) -> Iterator[PrometheusServer]:
    """The operator's whole repertoire, failures included, under a Prometheus scraping it: sessions become
    Ready, a lost room pod is replaced, an idle session ends, a ResourceQuota makes a reconcile fail, an
    archive fails (the drawing service's URL answers nothing)."""
    nobody = f"http://127.0.0.1:{free_port()}"
    operator = start_operator(
        resync_seconds=1, drawing_url=nobody, archive_retry_seconds=1, archive_timeout_seconds=1
    )
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
    kube.request_sync(
        "DELETE", f"/api/v1/namespaces/{namespace}/pods/room-steady", query={"gracePeriodSeconds": "0"}
    )
    wait_until(lambda: sessions.get("steady")["status"].get("recoveries") == 1, timeout=60, what="a recovery")
    sessions.wait_for_condition("brief", "Ready", "False", reason="Ended", timeout=60)
    # No room for one more pod: creating its room fails, and the reconcile with it.
    kube.limit_pods(namespace, 1)
    sessions.create(DrawingSessions.manifest("squeezed", {"idleTimeoutSeconds": 0}))
    sessions.delete("brief")  # its archive call finds nobody
    for expr in (
        "drawnet_operator_room_pods_replaced_total",
        "drawnet_operator_sessions_ended_total",
        'drawnet_operator_archives_total{result="failed"}',
        "drawnet_operator_reconcile_errors_total",
        "rate(drawnet_operator_time_to_ready_seconds_count[1m]) > 0",
    ):
        server.wait_for(expr)
    yield server
    server.stop()
    for name in ("brief", "squeezed", "steady"):  # without archiving: nobody would take it
        sessions.delete(name)
        sessions.drop_finalizers(name)
    for name in ("brief", "squeezed", "steady"):
        sessions.wait_gone(name, timeout=30)


def test_every_operator_query_and_alert_evaluates_and_returns_series(
    watched: PrometheusServer, tmp_path: Path
) -> None:
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
        empty += [f"{what}: {selector}" for selector in selectors(expr) if not watched.query(selector)]
    assert not empty, "selectors without series:\n" + "\n".join(empty)
