"""What people do with Drawnet on a real cluster, on the real node: the chart installed with helm from the
images built from images/, a DrawingSession applied with kubectl, people drawing in Chromium through the
ingress controller, and the things that happen to pods (deleted, killed, upgraded, drained).

One chart install serves the module; each test uses a session of its own (named after the example's).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import signal
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import httpx
import pytest
import yaml

from drawnet.testkit.kube import wait_until
from drawnet.testkit.node import INGRESS_HOST, NODE_NAME
from drawnet.testkit.operator import DrawingSessions, RawKube
from tests.browser.board_page import BoardPage
from tests.node.conftest import TEAM_NAMESPACE
from tests.node.kit import (
    EXAMPLE,
    apply_example,
    draw_strokes,
    people_at,
    people_at_a_new_board,
    sessions_of_the_test,
    sql,
    stored_ops,
    unique,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from playwright.sync_api import Browser

    from drawnet.testkit.cluster import Drawnet
    from drawnet.testkit.node import RealNode

# The first test also starts the node (and installs the chart): minutes, not seconds.
pytestmark = [pytest.mark.node, pytest.mark.browser, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------------------------------ fixtures


@pytest.fixture
def sessions(drawnet: Drawnet, kube: RawKube) -> Iterator[DrawingSessions]:
    """DrawingSessions in the release's namespace; this test's are deleted afterwards."""
    with sessions_of_the_test(kube, drawnet.namespace) as found:
        yield found


@pytest.fixture
def person(browser: Browser, drawnet: Drawnet) -> Iterator[Callable[[str], BoardPage]]:
    """A new person with a browser of their own, at the web app's public URL (through the ingress)."""
    with people_at(browser, drawnet.url) as new_person:
        yield new_person


def room_pod(kube: RawKube, namespace: str, session: str) -> dict[str, Any] | None:
    return kube.find("v1", "Pod", namespace, f"room-{session}")


def condition_time(obj: dict[str, Any], kind: str) -> dt.datetime:
    for condition in obj["status"]["conditions"]:
        if condition["type"] == kind:
            return dt.datetime.fromisoformat(condition["lastTransitionTime"])
    raise AssertionError(f"no {kind} condition in {json.dumps(obj['status'])}")


# ----------------------------------------------------------------------------------------------- tests


def test_the_chart_installs_with_every_component_ready_under_pod_security_restricted(
    drawnet: Drawnet, kube: RawKube
) -> None:
    namespace = kube.request_sync("GET", f"/api/v1/namespaces/{drawnet.namespace}")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for component in ("nats", "postgresql", "drawing", "operator"):
        pods = kube.list("v1", "Pod", drawnet.namespace, selector=f"app.kubernetes.io/component={component}")
        assert pods, f"no {component} pod"
        for pod in pods:
            # Ready by the container's own probes, from the image we built, never pulled from anywhere.
            status = pod["status"]["containerStatuses"][0]
            assert status["ready"], (component, status)
            assert status["image"].startswith("drawnet.local/"), status["image"]
            container = pod["spec"]["containers"][0]
            # The operator serves nobody: kopf's liveness endpoint is its probe.
            probe = "livenessProbe" if component == "operator" else "readinessProbe"
            assert container.get(probe), (component, probe)


def test_the_public_ingress_shows_no_metrics_and_prometheus_gets_them_on_their_own_port(
    drawnet: Drawnet, kube: RawKube
) -> None:
    """/metrics is not reachable through the public host (the Ingress routes `/` to the `http` port);
    the pods serve it on `drawing.metricsPort`, which the ServiceMonitor scrapes."""
    with httpx.Client(base_url=drawnet.url, timeout=30) as public:
        assert public.get("/healthz").status_code == 200
        assert public.get("/metrics").status_code == 404
    (pod, *_) = kube.list("v1", "Pod", drawnet.namespace, selector="app.kubernetes.io/component=drawing")
    scraped = httpx.get(f"http://{pod['status']['podIP']}:9090/metrics", timeout=30)
    assert "drawnet_drawing_" in scraped.text


def test_a_session_applied_with_kubectl_gets_a_room_and_two_people_draw_through_the_ingress(
    drawnet: Drawnet, kube: RawKube, sessions: DrawingSessions, person: Callable[[str], BoardPage]
) -> None:
    name = apply_example(sessions)
    session = sessions.wait_for_condition(name, "Ready", timeout=90)
    pod = room_pod(kube, drawnet.namespace, name)
    assert pod is not None
    assert pod["spec"]["containers"][0]["image"].startswith("drawnet.local/room:")
    # Ready only after the room's own /readyz said so.
    assert condition_time(pod, "Ready") <= condition_time(session, "Ready")
    url = session["status"]["url"]
    assert url.startswith(f"ws://{INGRESS_HOST}/"), url

    ann, bob = person("Ann"), person("Bob")
    sockets: list[str] = []
    ann.page.on("websocket", lambda socket: sockets.append(socket.url))
    ann.open(name)
    bob.open(name)
    # The room is reached where the platform said it is.
    assert any(socket.startswith(url) for socket in sockets), (sockets, url)

    draw_strokes(ann, 3)
    draw_strokes(bob, 2, offset=3)
    ann.expect_strokes(5)
    bob.expect_strokes(5)
    ann.expect_settled()
    bob.expect_settled()
    bob.expect_same_board_as(ann)
    wait_until(
        lambda: stored_ops(drawnet, kube, name) >= 5,
        timeout=30,
        what="the five strokes in PostgreSQL",
        details=lambda: f"stored: {stored_ops(drawnet, kube, name)}",
    )


def test_a_session_a_team_applied_in_its_own_namespace_is_joined_from_the_web_app(
    drawnet: Drawnet, kube: RawKube, person: Callable[[str], BoardPage]
) -> None:
    """The operator serves `team-a` too: a session applied there gets its room there (Pod Security
    restricted, the keys the operator wrote there), and people join it from the release's web app as
    `team-a.<name>`; its strokes are stored under its own namespace."""
    team = DrawingSessions(kube.api, TEAM_NAMESPACE)
    manifest = copy.deepcopy(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")))
    name = manifest["metadata"]["name"] = unique("team")
    team.create(manifest)
    try:
        session = team.wait_for_condition(name, "Ready", timeout=90)
        assert session["status"]["url"] == f"ws://{INGRESS_HOST}/rooms/{TEAM_NAMESPACE}/{name}"
        pod = room_pod(kube, TEAM_NAMESPACE, name)
        assert pod is not None
        assert pod["spec"]["containers"][0]["image"].startswith("drawnet.local/room:")

        ann, bob = person("Ann"), person("Bob")
        ann.open(f"{TEAM_NAMESPACE}.{name}")
        bob.open(f"{TEAM_NAMESPACE}.{name}")
        draw_strokes(ann, 2)
        draw_strokes(bob, 1, offset=2)
        ann.expect_strokes(3)
        bob.expect_strokes(3)
        ann.expect_settled()
        bob.expect_settled()
        bob.expect_same_board_as(ann)
        wait_until(
            lambda: stored_ops(drawnet, kube, name, TEAM_NAMESPACE) >= 3,
            timeout=30,
            what="the three strokes in PostgreSQL, under the team's namespace",
        )
        assert stored_ops(drawnet, kube, name) == 0  # nothing under the release's namespace
    finally:
        team.delete(name)
        team.wait_gone(name, timeout=60)


def test_a_room_deleted_and_a_room_killed_come_back_and_every_acknowledged_stroke_with_them(
    drawnet: Drawnet,
    real_node: RealNode,
    kube: RawKube,
    sessions: DrawingSessions,
    person: Callable[[str], BoardPage],
) -> None:
    name, (ann, bob) = people_at_a_new_board(sessions, person, "recover", "Ann", "Bob")
    draw_strokes(ann, 3)
    ann.expect_settled()

    # 1. The pod deleted: the operator makes a new one; both browsers reconnect by themselves.
    first = room_pod(kube, drawnet.namespace, name)
    assert first is not None
    kube.request_sync("DELETE", f"/api/v1/namespaces/{drawnet.namespace}/pods/room-{name}")
    wait_until(
        lambda: (
            (room_pod(kube, drawnet.namespace, name) or first)["metadata"]["uid"] != first["metadata"]["uid"]
        ),
        timeout=60,
        what="a new room pod",
    )
    sessions.wait_for_condition(name, "Ready", timeout=90)
    ann.expect_connection("live", timeout=60_000)
    bob.expect_connection("live", timeout=60_000)
    draw_strokes(bob, 2, offset=3)
    ann.expect_strokes(5)
    bob.expect_settled()
    ann.expect_same_board_as(bob)

    # 2. The room's process killed with SIGKILL from outside (as the OOM killer would): the kubelet
    # restarts the container.
    restarts = _restarts(kube, drawnet.namespace, name)
    os.kill(_room_process(real_node, kube, drawnet.namespace, name), signal.SIGKILL)
    wait_until(
        lambda: _restarts(kube, drawnet.namespace, name) > restarts,
        timeout=60,
        what="the room container restarted",
    )
    sessions.wait_for_condition(name, "Ready", timeout=90)
    ann.expect_connection("live", timeout=60_000)
    bob.expect_connection("live", timeout=60_000)
    draw_strokes(ann, 1, offset=5)
    bob.expect_strokes(6)
    ann.expect_settled()
    bob.expect_settled()
    bob.expect_same_board_as(ann)
    wait_until(lambda: stored_ops(drawnet, kube, name) >= 6, timeout=30, what="six strokes in PostgreSQL")


def test_a_quiet_board_stays_connected_through_the_ingress_past_its_idle_timeouts(
    sessions: DrawingSessions, person: Callable[[str], BoardPage]
) -> None:
    _, (ann,) = people_at_a_new_board(sessions, person, "quiet", "Ann")
    closes: list[str] = []
    ann.page.on("websocket", lambda socket: socket.on("close", lambda _: closes.append(socket.url)))
    ann.page.reload()
    ann.expect_connection("live")
    # Longer than Traefik's read and idle timeouts on this node (TRAEFIK_TIMEOUT_SECONDS) with nothing
    # drawn: only the room's pings cross the ingress.
    quiet_until = time.monotonic() + QUIET_SECONDS
    while time.monotonic() < quiet_until:
        ann.page.wait_for_timeout(1000)
    assert not closes, f"the board's WebSocket closed while quiet: {closes}"
    ann.expect_connection("live", timeout=1_000)


QUIET_SECONDS = 75  # > Traefik's 60 s readTimeout default on an entry point


def _restarts(kube: RawKube, namespace: str, session: str) -> int:
    pod = room_pod(kube, namespace, session) or {}
    statuses = pod.get("status", {}).get("containerStatuses", [])
    return int(statuses[0]["restartCount"]) if statuses else 0


def _room_process(node: RealNode, kube: RawKube, namespace: str, session: str) -> int:
    """The host PID of the room container's main process (from containerd's task list)."""
    pod = room_pod(kube, namespace, session)
    assert pod is not None
    container_id = pod["status"]["containerStatuses"][0]["containerID"].removeprefix("containerd://")
    for line in node.ctr("tasks", "list").stdout.splitlines()[1:]:
        task, pid, _status = line.split()
        if task == container_id:
            return int(pid)
    raise AssertionError(f"no task {container_id} in containerd")


class ApiLoad:
    """A client that calls the API through the ingress in a loop (a new connection each time, as many
    clients do), recording every answer that is not a success."""

    def __init__(self, base: str, session: str) -> None:
        self.paths = [f"/api/v1/sessions/{session}", "/api/v1/sessions", "/"]
        self.base = base
        self.calls = 0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            path = self.paths[self.calls % len(self.paths)]
            self.calls += 1
            try:
                with urllib.request.urlopen(self.base + path, timeout=10) as answer:  # noqa: S310 - ours
                    answer.read()
            except (OSError, urllib.error.HTTPError) as exc:
                self.failures.append(f"{time.strftime('%H:%M:%S')} GET {path}: {exc!r}")


def test_a_rolling_upgrade_to_new_image_tags_fails_no_request_and_loses_no_acknowledged_stroke(
    drawnet: Drawnet,
    real_node: RealNode,
    kube: RawKube,
    sessions: DrawingSessions,
    person: Callable[[str], BoardPage],
) -> None:
    """Issue 27's zero-downtime upgrade: new tags of the operator, the drawing service (web app and API,
    persister) and the room while a load loop calls the API through the ingress and people draw."""
    name, (ann, bob) = people_at_a_new_board(sessions, person, "upgrade", "Ann", "Bob")
    draw_strokes(ann, 2)

    # New tags of every image of ours, as a release would bring (the same content: what changes is
    # what the cluster does about a new tag, not the code).
    upgraded = {}
    for component in ("operator", "drawing", "room"):
        image = drawnet.images[component]
        real_node.ctr("images", "tag", "--force", image.reference, f"{image.repository}:{image.tag}-next")
        upgraded[component] = {"repository": image.repository, "tag": f"{image.tag}-next"}
    errors: list[BaseException] = []

    def upgrade() -> None:
        try:
            drawnet.upgrade(images=upgraded, timeout=240)
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)

    def replaced(component: str) -> Callable[[], bool]:
        return lambda: only_new_pods(component)

    def only_new_pods(component: str) -> bool:
        pods = kube.list("v1", "Pod", drawnet.namespace, selector=f"app.kubernetes.io/component={component}")
        return bool(pods) and all(p["spec"]["containers"][0]["image"].endswith("-next") for p in pods)

    with ApiLoad(drawnet.url, name) as load:
        helm = threading.Thread(target=upgrade)
        helm.start()
        drawn = 2
        while helm.is_alive():  # people go on drawing through the whole upgrade
            draw_strokes(bob, 1, offset=drawn)
            drawn += 1
            bob.page.wait_for_timeout(500)
        helm.join()
        assert not errors, errors
        # helm's --wait ends when the new pods are ready; the old ones drain after it, still in the load.
        for component in ("operator", "drawing", "persister"):
            wait_until(replaced(component), timeout=90, what=f"only new {component} pods left")
    assert load.calls >= 20, load.calls
    failed = "\n".join(load.failures)
    assert not load.failures, f"{len(load.failures)} of {load.calls} calls failed:\n{failed}"

    sessions.wait_for_condition(name, "Ready", timeout=120)
    ann.expect_connection("live", timeout=60_000)
    bob.expect_connection("live", timeout=60_000)
    bob.expect_settled(timeout=60_000)  # every stroke Bob drew is acknowledged (resent if need be)
    ann.expect_strokes(drawn, timeout=60_000)
    ann.expect_same_board_as(bob)
    wait_until(lambda: stored_ops(drawnet, kube, name) >= drawn, timeout=60, what="all stored")


def test_a_drain_of_the_node_completes_in_bounded_time_and_a_deleted_session_is_archived(
    drawnet: Drawnet,
    kube: RawKube,
    sessions: DrawingSessions,
    person: Callable[[str], BoardPage],
) -> None:
    name, (ann,) = people_at_a_new_board(sessions, person, "drain", "Ann")
    draw_strokes(ann, 2)
    ann.expect_settled()

    # `kubectl drain`: cordon, then evict every pod through the Eviction API (PodDisruptionBudgets
    # honoured), and wait until they are gone.
    node_path = f"/api/v1/nodes/{NODE_NAME}"
    merge = "application/merge-patch+json"
    kube.request_sync("PATCH", node_path, body={"spec": {"unschedulable": True}}, content_type=merge)
    began = time.monotonic()
    try:
        evicted = pod_uids(kube)
        for pod in kube.request_sync("GET", "/api/v1/pods")["items"]:
            evict(kube, pod)
        # As kubectl drain: done once every evicted pod is gone (their controllers' new ones wait,
        # Pending, for a node that takes them).
        wait_until(
            lambda: (
                not evicted
                & {p["metadata"]["uid"] for p in kube.request_sync("GET", "/api/v1/pods")["items"]}
            ),
            timeout=DRAIN_BOUND_SECONDS,
            what="every evicted pod gone",
        )
        drained = time.monotonic() - began
    finally:
        kube.request_sync("PATCH", node_path, body={"spec": {"unschedulable": False}}, content_type=merge)
    assert drained < DRAIN_BOUND_SECONDS

    # Back on the node: the platform, the room, and the participant with every stroke.
    drawnet.wait_ready(timeout=240)
    sessions.wait_for_condition(name, "Ready", timeout=120)
    ann.expect_connection("live", timeout=60_000)
    ann.expect_strokes(2)

    # Deleting the session archives its board and removes its room.
    sessions.delete(name)
    sessions.wait_gone(name, timeout=60)
    wait_until(lambda: room_pod(kube, drawnet.namespace, name) is None, timeout=60, what="the room pod gone")
    query = f"select archived from sessions where namespace = '{drawnet.namespace}' and name = '{name}'"  # noqa: S608
    assert sql(drawnet, kube, query) == "t"
    assert stored_ops(drawnet, kube, name) >= 2


# NATS's lame duck (30 s) and grace period bound how long its eviction takes; the rest go at once.
DRAIN_BOUND_SECONDS = 90


def pod_uids(kube: RawKube) -> set[str]:
    return {pod["metadata"]["uid"] for pod in kube.request_sync("GET", "/api/v1/pods")["items"]}


def evict(kube: RawKube, pod: dict[str, Any]) -> None:
    """Evict a pod as `kubectl drain` does, waiting while a disruption budget refuses (429)."""
    meta = pod["metadata"]
    eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": meta}
    path = f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/eviction"
    wait_until(
        lambda: kube.request_sync("POST", path, body=eviction),
        timeout=DRAIN_BOUND_SECONDS,
        what=f"the eviction of {meta['namespace']}/{meta['name']}",
    )
