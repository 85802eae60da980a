"""A real Prometheus scrapes the real platform (NATS, a room, the drawing service) with the scrape
configuration the chart's ServiceMonitor and PodMonitor imply, while people draw, a viewer tries to write
and JetStream goes away for a moment. Then every dashboard query and every alert expression over the room's
and the drawing service's metrics evaluates without error and returns series, and Prometheus evaluates
every alerting rule of the chart without error. (The operator's queries: test_operator_metrics.py.)"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drawnet.embedded.components import DrawingService, NatsServer, RoomServer, free_port
from drawnet.protocol.messages import Ack
from drawnet.protocol.tokens import Role
from drawnet.testkit.client import RoomClient, line
from drawnet.testkit.kube import wait_until
from drawnet.testkit.tokens import TEST_SIGNING_KEYS, Signer
from tests.chart.helm import find, one, template
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

pytestmark = pytest.mark.integration

NAMESPACE = "team"
SESSION = "retro"
DRAWING_METRICS = free_port()


def _ours(expr: str) -> bool:
    """Queries over the room's and the drawing service's metrics (and their targets)."""
    return "drawnet_operator_" not in expr and 'job="drawnet-operator"' not in expr


@pytest.fixture(scope="module")
def platform(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[NatsServer, RoomServer, DrawingService]]:
    tmp_path = tmp_path_factory.mktemp("platform")
    nats = NatsServer(data_dir=tmp_path / "nats").start()
    room = RoomServer(
        nats_url=nats.url,
        log_path=tmp_path / "room.log",
        signing_keys=TEST_SIGNING_KEYS,
        # A JetStream that does not answer is noticed within a second (the default is 5).
        extra_env={"DRAWNET_ROOM_PUBLISH_TIMEOUT_SECONDS": "1", "DRAWNET_ROOM_NAMESPACE": NAMESPACE},
    ).start()
    drawing = DrawingService(
        nats_url=nats.url,
        database_url=f"sqlite:///{tmp_path / 'drawnet.db'}",
        log_path=tmp_path / "drawing.log",
        room_public_url=room.url,
        signing_keys=TEST_SIGNING_KEYS,
        # As in the chart: /metrics on a port of its own (the ServiceMonitor's `metrics` port).
        extra_env={
            "DRAWNET_DRAWING_NAMESPACE": NAMESPACE,
            "DRAWNET_DRAWING_METRICS_PORT": str(DRAWING_METRICS),
        },
    ).start()
    yield nats, room, drawing
    drawing.stop()
    room.stop()
    nats.stop()


@pytest.fixture(scope="module")
def server(
    platform: tuple[NatsServer, RoomServer, DrawingService], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrometheusServer]:
    """Prometheus with the chart's monitors as scrape configurations and the chart's rules."""
    tmp_path = tmp_path_factory.mktemp("prometheus")
    _, room, _ = platform
    objects = template({}, tmp_path / "render")
    room_host = room.http_url.removeprefix("http://")
    drawing_host = f"127.0.0.1:{DRAWING_METRICS}"
    assert one(objects, "ServiceMonitor", "-drawing")["spec"]["endpoints"][0]["port"] == "metrics"
    configs = [
        scrape_config(
            one(objects, "PodMonitor", "-rooms"),
            [Target(room_host, NAMESPACE, f"room-{SESSION}", {"drawnet.dev/session": SESSION})],
            interval="1s",
        ),
        scrape_config(
            one(objects, "ServiceMonitor", "-drawing"),
            [Target(drawing_host, "drawnet", "dn-drawnet-drawing-0", service="dn-drawnet-drawing")],
            interval="1s",
        ),
    ]
    (rule,) = find(objects, "PrometheusRule")
    server = PrometheusServer(
        prometheus(), tmp_path / "prometheus", configs, rules={"groups": rule["spec"]["groups"]}
    )
    yield server.start()
    server.stop()


async def _draw_and_break(nats: NatsServer, room: RoomServer, server: PrometheusServer) -> None:
    """Everything a dashboard shows: strokes, live points, a late joiner, a refused write, and a room
    that cannot reach JetStream for a moment."""
    signer = Signer(namespace=NAMESPACE)
    async with contextlib.AsyncExitStack() as clients:

        async def join(name: str, role: Role = "editor") -> RoomClient:
            token = signer.token(SESSION, role=role, user=name, name=name)
            return await clients.enter_async_context(
                await RoomClient.join(room.url, SESSION, name=name, token=token)
            )

        ada, bob = await join("ada"), await join("bob")
        for n in range(5):
            assert isinstance(await ada.draw_stroke(line(40, x0=n * 10)), Ack)
            assert isinstance(await bob.draw_stroke(line(20, y0=n * 10)), Ack)
        viewer = await join("vic", "viewer")
        with pytest.raises(ConnectionError):  # a viewer that draws is closed (4003)
            await viewer.draw_stroke(line(3))
        assert viewer.close_code == 4003
        await join("late")
        # JetStream goes away: commits are not acknowledged and the room says "try again later". Twice,
        # with a scrape in between: a labelled counter appears with its first event, so rate() sees the
        # second one (in a cluster, the outage's later refusals).
        nats.stop()
        try:
            for author in (ada, bob):
                with pytest.raises(ConnectionError):
                    await author.draw_stroke(line(5, x0=500), batch=5)
                assert author.close_code == 1013
                server.wait_for('drawnet_room_rejected_total{reason="try_again_later"}')
        finally:
            nats.start()


@pytest.fixture(scope="module")
def scraped(
    platform: tuple[NatsServer, RoomServer, DrawingService], server: PrometheusServer
) -> PrometheusServer:
    """The platform after the traffic, once Prometheus has seen it (the tests only read)."""
    nats, room, _ = platform
    server.wait_for('up{job="drawnet-room"} == 1')
    server.wait_for('up{job="drawnet-drawing"} == 1')
    asyncio.run(_draw_and_break(nats, room, server))
    # The op log is back and the persister has stored what was acknowledged...
    server.wait_for("drawnet_drawing_ops_persisted_total >= 10 and drawnet_drawing_consumer_pending_ops == 0")
    # ...and the rates see it (two samples after the events, in a 1m window).
    server.wait_for('rate(drawnet_room_rejected_total{reason="try_again_later"}[1m]) > 0')
    return server


def test_the_chart_implies_the_jobs_and_labels_the_queries_select_on(scraped: PrometheusServer) -> None:
    (room,) = scraped.query('up{job="drawnet-room"}')
    assert room["metric"]["namespace"] == NAMESPACE
    assert room["metric"]["session"] == SESSION
    assert room["metric"]["pod"] == f"room-{SESSION}"
    (drawing,) = scraped.query('up{job="drawnet-drawing"}')
    assert drawing["metric"]["service"] == "dn-drawnet-drawing"


def test_every_dashboard_query_over_rooms_and_persistence_returns_series(scraped: PrometheusServer) -> None:
    empty = []
    checked = 0
    for name, dashboard in dashboards().items():
        for title, expr in panel_queries(dashboard):
            if not _ours(expr):
                continue
            checked += 1
            if not scraped.query(as_prometheus_query(expr)):
                empty.append(f"{name} / {title}: {expr}")
    assert checked >= 25
    assert not empty, "queries without series:\n" + "\n".join(empty)


def test_every_series_an_alert_is_made_of_exists_and_every_expression_evaluates(
    scraped: PrometheusServer, tmp_path: Path
) -> None:
    rules = rendered_rules(tmp_path)
    missing = []
    for alert in alerts(rules):
        scraped.query(alert["expr"])  # evaluates (raises with Prometheus' error otherwise)
        if not _ours(alert["expr"]):
            continue
        missing += [f"{alert['alert']}: {s}" for s in selectors(alert["expr"]) if not scraped.query(s)]
    assert not missing, "selectors without series:\n" + "\n".join(missing)


def test_prometheus_evaluates_every_rule_of_the_chart_without_error(
    scraped: PrometheusServer, tmp_path: Path
) -> None:
    def evaluated() -> list[dict[str, Any]] | None:
        groups = scraped.api("rules")["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        done = rules and all(not rule["lastEvaluation"].startswith("0001") for rule in rules)
        return rules if done else None

    rules = wait_until(evaluated, timeout=30, what="every rule evaluated at least once")
    assert len(rules) == len(alerts(rendered_rules(tmp_path)))
    unhealthy = [f"{rule['name']}: {rule.get('lastError')}" for rule in rules if rule["health"] != "ok"]
    assert not unhealthy, unhealthy

    # The op log was away for a moment: the JetStream alert turns pending (it would fire after 2 minutes),
    # once its next evaluation sees the rate; the drawing service is up.
    def state(name: str) -> str:
        groups = scraped.api("rules")["groups"]
        (rule,) = [rule for group in groups for rule in group["rules"] if rule["name"] == name]
        return str(rule["state"])

    wait_until(
        lambda: state("DrawnetJetStreamUnavailable") == "pending", timeout=30, what="the alert pending"
    )
    assert state("DrawnetDrawingServiceDown") == "inactive"
