"""The operator with the rest of the platform: the RBAC the chart grants (and no more), a real drawing
service that archives boards on delete, and a real room whose heartbeats over NATS drive the status."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from drawnet.embedded.components import DrawingService, NatsServer, RoomServer, free_port
from drawnet.testkit.client import RoomClient, line
from drawnet.testkit.kube import ControlPlane, wait_until
from drawnet.testkit.operator import (
    DrawingSessions,
    RawKube,
    install_rbac,
    service_account_kubeconfig,
)
from drawnet.testkit.tokens import TEST_SIGNING_KEYS, Signer

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.k8s.conftest import StartOperator

pytestmark = pytest.mark.k8s

SERVICE_TOKEN = "operator-service-token-for-tests-0123456789"  # noqa: S105 - a test token


def _conditions(session: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in session["status"]["conditions"]}


@pytest.fixture
def operator_account(
    control_plane: ControlPlane, kube: RawKube, namespace: str, tmp_path: Path
) -> Iterator[Path]:
    """A ServiceAccount bound to exactly the operator's ClusterRole (its single source, as the chart binds
    it), and a kubeconfig holding a token of that ServiceAccount."""
    kube.request_sync(
        "POST",
        f"/api/v1/namespaces/{namespace}/serviceaccounts",
        body={"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "drawnet-operator"}},
    )
    binding = install_rbac(kube.api, service_account="drawnet-operator", namespace=namespace)
    yield service_account_kubeconfig(
        kube.api,
        server=control_plane.server,
        ca_cert=control_plane.ca_cert,
        namespace=namespace,
        name="drawnet-operator",
        path=tmp_path / "operator.kubeconfig",
    )
    kube.request_sync("DELETE", f"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{binding}")


def test_the_operator_does_its_whole_job_with_exactly_the_rbac_the_chart_grants(
    kube: RawKube,
    namespace: str,
    sessions: DrawingSessions,
    operator_account: Path,  # before start_operator: its RBAC outlives the operator's clean-up
    start_operator: StartOperator,
) -> None:
    # Every namespace, as the chart's default runs it; Ingresses for the routes.
    operator = start_operator(
        kubeconfig=operator_account,
        namespaces="",
        exposure="ingress",
        public_host="draw.example.test",
        room_image="registry.example/drawnet/room:1.0",
        room_signing_keys="k1:" + "s" * 40,  # written into a Secret in the session's namespace
    )
    sessions.create(DrawingSessions.manifest("least", {"idleTimeoutSeconds": 0}))
    sessions.create(DrawingSessions.manifest("refused", {"room": {"image": "evil.example/miner:1"}}))
    sessions.create(DrawingSessions.manifest("short", {"idleTimeoutSeconds": 2, "onIdle": "Delete"}))

    kube.admit_ingress(namespace, "room-least")
    sessions.wait_for_condition("least", "Ready", "True")
    assert kube.find("v1", "Secret", namespace, "drawnet-room-signing-keys") is not None
    sessions.wait_for_condition("refused", "Accepted", "False", reason="InvalidSpec")
    # Replacing a lost pod, repairing a Service, deleting an idle session: each its own permission.
    kube.request_sync(
        "DELETE", f"/api/v1/namespaces/{namespace}/pods/room-least", query={"gracePeriodSeconds": "0"}
    )
    kube.request_sync("DELETE", f"/api/v1/namespaces/{namespace}/services/room-least")
    wait_until(
        lambda: (
            sessions.get("least")["status"].get("recoveries") == 1
            and kube.find("v1", "Service", namespace, "room-least") is not None
            and _conditions(sessions.get("least"))["Ready"] == ("True", "Ready")
        ),
        timeout=60,
        what="the lost room pod and Service replaced under the operator's own RBAC",
    )
    sessions.wait_gone("short")
    sessions.delete("least")
    sessions.wait_gone("least")

    # A problem is reported as a Kubernetes event on the session (kopf posts it with our RBAC).
    events = kube.request_sync(
        "GET",
        f"/api/v1/namespaces/{namespace}/events",
        query={"fieldSelector": "involvedObject.name=refused"},
    )["items"]
    assert any("evil.example/miner:1" in event["message"] for event in events), events
    log = operator.log()
    assert not operator.permission_errors()
    assert "Traceback" not in log


@pytest.fixture
def drawing_port() -> int:
    return free_port()


def test_deleting_a_session_archives_its_board_in_the_drawing_service_before_its_room_goes(
    kube: RawKube,
    namespace: str,
    sessions: DrawingSessions,
    nats_server: NatsServer,
    tmp_path: Path,
    drawing_port: int,
    start_operator: StartOperator,
) -> None:
    drawing = DrawingService(
        nats_url=nats_server.url,
        database_url=f"sqlite:///{tmp_path / 'drawnet.db'}",
        log_path=tmp_path / "drawing.log",
        port=drawing_port,
        extra_env={"DRAWNET_DRAWING_SERVICE_TOKEN": SERVICE_TOKEN, "DRAWNET_DRAWING_NAMESPACE": namespace},
    )
    # The drawing service is not up yet: the first archive calls fail.
    start_operator(drawing_url=drawing.url, service_token=SERVICE_TOKEN, archive_retry_seconds=0.5)
    sessions.create(DrawingSessions.manifest("keepsake"))
    sessions.wait_for_condition("keepsake", "Ready", "True")

    sessions.delete("keepsake")

    # While the drawing service cannot archive, the session stays (Terminating) and so does its room.
    waiting = sessions.wait_for_condition("keepsake", "Ready", "False", reason="Terminating")
    wait_until(
        lambda: (
            "archiving failed"
            in next(
                c["message"] for c in sessions.get("keepsake")["status"]["conditions"] if c["type"] == "Ready"
            )
        ),
        timeout=30,
        what="the status to say why the session is still there",
    )
    assert waiting["status"]["phase"] == "Terminating"
    assert kube.find("v1", "Pod", namespace, "room-keepsake") is not None

    drawing.start(timeout=90)  # its imports and migrations take a while on a busy machine
    try:
        sessions.wait_gone("keepsake", timeout=90)
        answer = httpx.get(
            f"{drawing.url}/api/v1/sessions/keepsake", headers={"Authorization": f"Bearer {SERVICE_TOKEN}"}
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["archived"] is True
        # Only then does garbage collection remove the room.
        wait_until(
            lambda: (
                kube.find("v1", "Pod", namespace, "room-keepsake") is None
                and kube.find("v1", "Service", namespace, "room-keepsake") is None
            ),
            timeout=60,
            what="the room's Pod and Service garbage-collected",
        )
    finally:
        drawing.stop()


@pytest.fixture
def room(nats_server: NatsServer, namespace: str, tmp_path: Path) -> Iterator[RoomServer]:
    """A real room process hosting the session `live` of this namespace, as its pod would."""
    server = RoomServer(
        nats_url=nats_server.url,
        log_path=tmp_path / "room.log",
        signing_keys=TEST_SIGNING_KEYS,
        extra_env={
            "DRAWNET_ROOM_SESSION": "live",
            "DRAWNET_ROOM_NAMESPACE": namespace,
            "DRAWNET_ROOM_HEARTBEAT_SECONDS": "0.25",
        },
    ).start()
    yield server
    server.stop()


async def test_the_status_follows_a_real_room_heartbeating_over_nats(
    namespace: str,
    sessions: DrawingSessions,
    nats_server: NatsServer,
    room: RoomServer,
    start_operator: StartOperator,
) -> None:
    start_operator(nats_url=nats_server.url, room_heartbeat_seconds=0.25, status_min_interval_seconds=0.2)
    sessions.create(DrawingSessions.manifest("live"))

    async def status_where(what: str, holds: Any) -> dict[str, Any]:
        """The session's status once `holds(status, session)`; waits in a thread (the room client
        keeps the loop)."""

        def check() -> dict[str, Any] | None:
            session = sessions.get("live")
            status: dict[str, Any] | None = session.get("status")
            return status if status and holds(status, session) else None

        found: dict[str, Any] = await asyncio.to_thread(wait_until, check, timeout=30, what=what)
        return found

    await status_where(
        "Ready and Live", lambda _s, session: _conditions(session)["Live"] == ("True", "Heartbeat")
    )

    token = Signer(namespace=namespace).token("live", name="Ann")
    ann = await RoomClient.join(room.url, "live", name="Ann", token=token)
    try:
        await status_where("one participant", lambda s, _: s["participants"] == 1)
        await ann.draw_stroke(line(5))
        await ann.draw_stroke(line(5, y0=10))
        drawn = await status_where(
            "two strokes", lambda s, _: s["strokes"] == 2 and s.get("lastActivityTime")
        )
        assert drawn["participants"] == 1
        assert drawn["lastHeartbeatTime"]
    finally:
        await ann.close()
    await status_where("nobody left", lambda s, _: s["participants"] == 0)

    room.stop()  # the room goes silent: its heartbeats stop, and the status says so
    stale = await status_where(
        "Live to go stale", lambda _s, session: _conditions(session)["Live"] == ("False", "HeartbeatStale")
    )
    assert stale["strokes"] == 2  # what the room last said stays
    with contextlib.suppress(Exception):
        await ann.close()
