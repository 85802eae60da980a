"""`/api/v1/sessions` of a real drawing service process with `session_backend: kubernetes`, running with a
token of a ServiceAccount that holds exactly the Role the chart grants it, next to the real operator: a
session made through the API is a DrawingSession whose room the API shows becoming Ready; a session a
platform team applied with kubectl is open to guests; deleting archives the board through the operator."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from drawnet.drawing.kube_sessions import RBAC_ELSEWHERE_PATH, RBAC_PATH
from drawnet.embedded.components import DrawingService, NatsServer
from drawnet.operator.resource import load_yaml_documents
from drawnet.testkit.kube import ControlPlane, wait_until
from drawnet.testkit.operator import DrawingSessions, RawKube, install_role, service_account_kubeconfig

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.k8s.conftest import StartOperator

pytestmark = pytest.mark.k8s

SERVICE_TOKEN = "drawing-service-token-for-tests-0123456789"  # noqa: S105 - a test token
ACCOUNT = "drawnet-drawing"


@pytest.fixture
def drawing_account(control_plane: ControlPlane, kube: RawKube, namespace: str, tmp_path: Path) -> Path:
    """A ServiceAccount with the drawing service's Role (its single source, as the chart binds it) in the
    test's namespace, and a kubeconfig holding a token of it."""
    (role,) = load_yaml_documents(RBAC_PATH)
    install_role(kube.api, role, service_account=ACCOUNT, namespace=namespace)
    return service_account_kubeconfig(
        kube.api,
        server=control_plane.server,
        ca_cert=control_plane.ca_cert,
        namespace=namespace,
        name=ACCOUNT,
        path=tmp_path / "drawing.kubeconfig",
    )


StartDrawing = Callable[..., DrawingService]


@pytest.fixture
def start_drawing(
    nats_server: NatsServer, namespace: str, drawing_account: Path, tmp_path: Path
) -> Iterator[StartDrawing]:
    """Starts drawing services (backend `kubernetes`, as the ServiceAccount) with the given extra
    settings, each with a database of its own; all are stopped after the test."""
    started: list[DrawingService] = []

    def start(name: str = "drawing", **settings: str) -> DrawingService:
        service = DrawingService(
            nats_url=nats_server.url,
            database_url=f"sqlite:///{tmp_path / f'{name}.db'}",
            log_path=tmp_path / f"{name}.log",
            service_token=SERVICE_TOKEN,
            extra_env={
                "DRAWNET_DRAWING_SESSION_BACKEND": "kubernetes",
                "DRAWNET_DRAWING_KUBECONFIG": str(drawing_account),
                "DRAWNET_DRAWING_NAMESPACE": namespace,
                "DRAWNET_DRAWING_OPEN_BOARDS": "true",
                "DRAWNET_DRAWING_COOKIE_SECURE": "false",
                **{f"DRAWNET_DRAWING_{key.upper()}": value for key, value in settings.items()},
            },
        )
        started.append(service)
        return service.start(timeout=90)

    yield start
    for service in started:
        service.stop()


@pytest.fixture
def drawing(start_drawing: StartDrawing) -> DrawingService:
    return start_drawing()


@pytest.fixture
def http(drawing: DrawingService) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=drawing.url, timeout=30) as client:
        yield client


def logged_in(http: httpx.Client, name: str) -> dict[str, str]:
    username, password = f"{name}-{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    assert http.post("/api/v1/users", json={"username": username, "password": password}).status_code == 201
    token = http.post("/api/v1/auth/login", json={"username": username, "password": password}).json()["token"]
    http.cookies.clear()  # the login's cookie too: requests without the bearer token are anonymous
    return {"Authorization": f"Bearer {token}"}


def status_of(http: httpx.Client, name: str, headers: dict[str, str] | None = None) -> dict[str, Any] | None:
    response = http.get(f"/api/v1/sessions/{name}", headers=headers)
    assert response.status_code == 200, response.text
    status: dict[str, Any] | None = response.json()["status"]
    return status


def test_a_session_made_through_the_api_is_a_drawingsession_whose_room_the_api_shows_ready(
    http: httpx.Client,
    drawing: DrawingService,
    sessions: DrawingSessions,
    start_operator: StartOperator,
) -> None:
    start_operator(drawing_url=drawing.url, service_token=SERVICE_TOKEN)
    ann = logged_in(http, "ann")

    created = http.post(
        "/api/v1/sessions",
        json={"name": "planning", "title": "Planning", "max_participants": 8, "idle_timeout_seconds": 0},
        headers=ann,
    )
    assert created.status_code == 201, created.text
    assert sessions.get("planning")["spec"]["title"] == "Planning"
    assert sessions.get("planning")["spec"]["maxParticipants"] == 8

    wait_until(
        lambda: (status_of(http, "planning", ann) or {}).get("ready") is True,
        timeout=60,
        what="the API shows the room Ready",
    )
    session = http.get("/api/v1/sessions/planning", headers=ann).json()
    assert session["status"] == {"phase": "Running", "ready": True, "participants": 0, "strokes": 0}
    assert session["room_url"] == sessions.get("planning")["status"]["url"]

    # The owner changes a setting: the resource follows (the operator reads its spec).
    changed = http.patch("/api/v1/sessions/planning", json={"title": "Planning, v2"}, headers=ann)
    assert changed.status_code == 200, changed.text
    assert sessions.get("planning")["spec"]["title"] == "Planning, v2"

    # What the cluster refuses is refused with the API server's own words, and leaves nothing behind.
    refused = http.post("/api/v1/sessions", json={"name": "x" * 60}, headers=ann)
    assert refused.status_code == 422, refused.text
    assert "metadata.name must be at most 58 characters" in refused.json()["detail"]
    assert http.get(f"/api/v1/sessions/{'x' * 60}", headers=ann).status_code == 404

    # Deleting: the resource goes, the operator archives the board through the API, the owner sees it.
    assert http.delete("/api/v1/sessions/planning", headers=ann).status_code == 204
    sessions.wait_gone("planning")
    archived = http.get("/api/v1/sessions/planning", headers=ann).json()
    assert archived["archived"] is True
    assert archived["status"] is None  # no resource any more
    assert "Forbidden" not in drawing.log_path.read_text(encoding="utf-8")  # the Role was enough


def test_a_session_applied_with_kubectl_is_listed_and_open_to_guests(
    http: httpx.Client, sessions: DrawingSessions, start_operator: StartOperator
) -> None:
    start_operator()
    sessions.create(DrawingSessions.manifest("standup", {"title": "Stand-up"}))
    ann = logged_in(http, "ann")
    mine = http.post("/api/v1/sessions", json={"name": "mine", "title": "Mine"}, headers=ann)
    assert mine.status_code == 201, mine.text
    sessions.wait_for_condition("standup", "Ready", "True")

    # Anyone sees the open one (not Ann's private one); Ann sees both, by name, with their status.
    anonymous = http.get("/api/v1/sessions").json()
    assert [(s["name"], s["title"], s["your_role"], s["status"]["ready"]) for s in anonymous] == [
        ("standup", "Stand-up", "public", True)
    ]
    assert http.get("/api/v1/sessions/standup").json()["title"] == "Stand-up"
    listed = http.get("/api/v1/sessions", headers=ann).json()
    assert [(s["name"], s["your_role"]) for s in listed] == [("mine", "owner"), ("standup", "public")]
    assert http.get("/api/v1/sessions", params={"after": "mine"}, headers=ann).json()[0]["name"] == "standup"

    # A guest joins it with a display name; a name the cluster has no session for is not found.
    joined = http.post("/api/v1/sessions/standup/join", json={"name": "Bob"})
    assert joined.status_code == 200, joined.text
    assert (joined.json()["role"], joined.json()["session"]) == ("editor", "standup")
    # The token names the session's namespace, and the room URL is the one the platform gave the session
    # (its status.url), which the web app opens: not a URL of the drawing service's own making.
    assert joined.json()["namespace"] == sessions.namespace
    assert joined.json()["room_url"] == sessions.get("standup")["status"]["url"]
    assert joined.json()["room_url"].endswith(f"/rooms/{sessions.namespace}/standup")
    missing = http.post("/api/v1/sessions/nobody-made-this/join", json={"name": "Bob"})
    assert missing.status_code == 404, missing.text
    # Nobody owns it through the API: nobody deletes it there.
    refused = http.delete("/api/v1/sessions/standup", headers=ann)
    assert refused.status_code == 403, refused.text
    assert "nobody owns it" in refused.json()["detail"]
    assert sessions.find("standup") is not None


def test_sessions_of_the_other_namespaces_the_operator_serves_are_listed_and_joined_as_namespace_dot_name(
    control_plane: ControlPlane,
    kube: RawKube,
    namespace: str,
    crd: dict[str, Any],
    start_operator: StartOperator,
    start_drawing: StartDrawing,
) -> None:
    """A platform team applies a session in its own namespace (one the operator serves): the web app lists
    it as `<namespace>.<name>` and hands out join tokens for its room there, reading that namespace with
    exactly the ClusterRole the chart binds (rbac-elsewhere.yaml); a namespace not served stays unseen."""
    assert crd["spec"]["group"] == "drawnet.dev"
    team = control_plane.create_namespace()
    unserved = control_plane.create_namespace()
    (readers,) = load_yaml_documents(RBAC_ELSEWHERE_PATH)
    role = f"{readers['metadata']['name']}-{namespace}"
    kube.request_sync(
        "POST",
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        body={**readers, "metadata": {**readers["metadata"], "name": role}},
    )
    kube.request_sync(
        "POST",
        f"/apis/rbac.authorization.k8s.io/v1/namespaces/{team}/rolebindings",
        body={
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": role},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": ACCOUNT, "namespace": namespace}],
        },
    )
    team_sessions = DrawingSessions(kube.api, team)
    start_operator(namespaces=f"{namespace},{team},{unserved}")
    service = start_drawing("elsewhere", session_namespaces=f'["{team}"]')
    try:
        with httpx.Client(base_url=service.url, timeout=30) as http:
            team_sessions.create(DrawingSessions.manifest("retro", {"title": "Retro"}))
            DrawingSessions(kube.api, unserved).create(DrawingSessions.manifest("secret", {"title": "No"}))
            team_sessions.wait_for_condition("retro", "Ready", "True")
            ref = f"{team}.retro"

            listed = http.get("/api/v1/sessions").json()
            assert [(s["ref"], s["name"], s["namespace"], s["title"]) for s in listed] == [
                (ref, "retro", team, "Retro")
            ]
            assert listed[0]["url"].endswith(f"/s/{ref}")
            assert listed[0]["status"]["ready"] is True
            assert http.get(f"/api/v1/sessions/{ref}").json()["namespace"] == team

            joined = http.post(f"/api/v1/sessions/{ref}/join", json={"name": "Bob"})
            assert joined.status_code == 200, joined.text
            token = joined.json()
            # The token is for the room in the team's namespace, at the URL the platform gave that session.
            assert (token["namespace"], token["session"], token["role"]) == (team, "retro", "editor")
            assert token["room_url"] == team_sessions.get("retro")["status"]["url"]
            assert token["room_url"].endswith(f"/rooms/{team}/retro")
            # What a room of that session loads: its board, by its own namespace.
            snapshot = http.get(
                "/api/v1/sessions/retro/snapshot",
                params={"namespace": team},
                headers={"Authorization": f"Bearer {SERVICE_TOKEN}"},
            )
            assert snapshot.status_code == 200, snapshot.text
            assert snapshot.json()["session"] == "retro"

            # A namespace the operator serves but this service was not told to: nothing there is seen.
            for path in (f"/api/v1/sessions/{unserved}.secret", f"/api/v1/sessions/{unserved}.secret/board"):
                refused = http.get(path)
                assert refused.status_code == 404, refused.text
                assert "this service serves the sessions of namespace" in refused.json()["detail"]
            assert (
                http.post(f"/api/v1/sessions/{unserved}.secret/join", json={"name": "B"}).status_code == 404
            )
            # Bad references are refused as such.
            for bad in ("Team.retro", f"{team}.Retro", f"{team}.retro.x"):
                assert http.get(f"/api/v1/sessions/{bad}").status_code in {404, 422}, bad
            # Only the release namespace has owners: nobody changes a team's session through the API.
            ann = logged_in(http, "ann")
            assert http.delete(f"/api/v1/sessions/{ref}", headers=ann).status_code == 403
        assert "Forbidden" not in service.log_path.read_text(encoding="utf-8")  # the ClusterRole was enough
    finally:
        service.stop()  # before its namespaces go
        for where in (team_sessions, DrawingSessions(kube.api, unserved)):
            for item in where.list():
                where.delete(item["metadata"]["name"])
                where.wait_gone(item["metadata"]["name"])
        kube.request_sync("DELETE", f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{role}")
        for created in (team, unserved):
            kube.request_sync("DELETE", f"/api/v1/namespaces/{created}")
