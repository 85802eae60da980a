"""The operator on a real control plane: a DrawingSession gets an owned room (Pod, Service, route) that
KWOK runs, its status says Ready with the right conditions and printer columns, lost or failed rooms come
back, idle sessions end by policy, and a restarted operator makes no duplicates."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from drawnet.operator.kube import MERGE_PATCH, KubeError
from drawnet.operator.resource import CRD_PATH, load_yaml_documents
from drawnet.testkit.kube import ControlPlane, wait_until
from drawnet.testkit.operator import CHAOS_FAIL_LABEL, DrawingSessions, RawKube, install_crd
from tests.conftest import missing_dependency

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

    from tests.k8s.conftest import StartOperator

pytestmark = pytest.mark.k8s

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "drawingsession.yaml"
MANAGED = "app.kubernetes.io/managed-by=drawnet-operator"


def _conditions(session: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in session["status"]["conditions"]}


def _owner(obj: dict[str, Any]) -> list[tuple[str, str, str, bool, bool]]:
    return [
        (
            ref["kind"],
            ref["name"],
            ref["uid"],
            ref.get("controller", False),
            ref.get("blockOwnerDeletion", False),
        )
        for ref in obj["metadata"].get("ownerReferences") or []
    ]


def _pod(kube: RawKube, namespace: str, name: str) -> dict[str, Any] | None:
    return kube.find("v1", "Pod", namespace, f"room-{name}")


def _table(kube: RawKube, namespace: str) -> dict[str, Any]:
    """`kubectl get drawingsessions`: the server-side table with the CRD's printer columns."""
    kube.api.default_headers["Accept"] = "application/json;as=Table;v=v1;g=meta.k8s.io"
    try:
        return kube.request_sync("GET", f"/apis/drawnet.dev/v1alpha1/namespaces/{namespace}/drawingsessions")
    finally:
        del kube.api.default_headers["Accept"]


def test_the_example_session_gets_an_owned_room_that_kwok_runs_and_becomes_ready(
    control_plane: ControlPlane,
    kube: RawKube,
    namespace: str,
    sessions: DrawingSessions,
    start_operator: StartOperator,
) -> None:
    start_operator(exposure="ingress", public_host="draw.example.test", ingress_class_name="nginx")
    (manifest,) = load_yaml_documents(EXAMPLE)
    name = manifest["metadata"]["name"]
    uid = sessions.create(manifest)["metadata"]["uid"]

    # What the ingress controller does once it serves the route (the next test: Exposed waits for it).
    kube.admit_ingress(namespace, f"room-{name}")
    session = sessions.wait_for_condition(name, "Ready", "True")

    pod = kube.find("v1", "Pod", namespace, f"room-{name}")
    service = kube.find("v1", "Service", namespace, f"room-{name}")
    ingress = kube.find("networking.k8s.io/v1", "Ingress", namespace, f"room-{name}")
    assert pod is not None
    assert service is not None
    assert ingress is not None
    owned = [("DrawingSession", name, uid, True, True)]
    assert _owner(pod) == _owner(service) == _owner(ingress) == owned
    assert pod["status"]["phase"] == "Running"
    assert pod["spec"]["nodeName"] == control_plane.node_name  # KWOK's node "runs" it
    container = pod["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    assert env["DRAWNET_ROOM_SESSION"] == name
    assert env["DRAWNET_ROOM_NAMESPACE"] == namespace
    assert env["DRAWNET_ROOM_MAX_PARTICIPANTS"] == "50"
    assert container["resources"]["limits"] == {"cpu": "1", "memory": "512Mi"}
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert service["spec"]["selector"] == {"drawnet.dev/session": name, "app.kubernetes.io/component": "room"}
    rule = ingress["spec"]["rules"][0]
    assert (rule["host"], rule["http"]["paths"][0]["path"]) == (
        "draw.example.test",
        f"/rooms/{namespace}/{name}",
    )
    assert ingress["spec"]["ingressClassName"] == "nginx"

    status = session["status"]
    assert _conditions(session) == {
        "Ready": ("True", "Ready"),
        "Accepted": ("True", "Accepted"),
        "RoomReady": ("True", "PodReady"),
        "Exposed": ("True", "Exposed"),
        "Live": ("Unknown", "NotListening"),
    }
    generation = session["metadata"]["generation"]
    assert status["observedGeneration"] == generation
    assert all(c["observedGeneration"] == generation for c in status["conditions"])
    assert status["phase"] == "Running"
    assert status["url"] == f"wss://draw.example.test/rooms/{namespace}/{name}"
    assert status["pod"] == f"room-{name}"
    assert (status["participants"], status["strokes"], status["recoveries"]) == (0, 0, 0)
    assert status["readyTime"]
    # kopf's bookkeeping stays out of the status, in annotations under the operator's own prefix.
    assert set(status) <= {
        "phase", "observedGeneration", "conditions", "participants", "strokes", "url", "pod",
        "recoveries", "lastRecoveryTime", "lastActivityTime", "lastHeartbeatTime", "readyTime", "endTime",
    }  # fmt: skip
    annotations = session["metadata"].get("annotations") or {}
    assert all(key.startswith("operator.drawnet.dev/") for key in annotations), annotations
    assert session["metadata"]["finalizers"] == ["drawnet.dev/archive"]

    table = _table(kube, namespace)
    columns = [c["name"] for c in table["columnDefinitions"] if c["priority"] == 0]
    assert columns == ["Name", "Phase", "Participants", "URL", "Age"]
    everything = [c["name"] for c in table["columnDefinitions"]]
    (row,) = table["rows"]
    cells = dict(zip(everything, row["cells"], strict=True))
    assert (cells["Name"], cells["Phase"], cells["Participants"]) == (name, "Running", 0)
    assert (cells["URL"], cells["Ready"], cells["Title"]) == (
        f"wss://draw.example.test/rooms/{namespace}/{name}",
        "True",
        "Team retro",
    )


INVALID = {
    "participants-zero": (
        "too-few",
        {"maxParticipants": 0},
        "spec.maxParticipants in body should be greater than or equal to 1",
    ),
    "participants-over-500": ("too-many", {"maxParticipants": 501}, "should be less than or equal to 500"),
    "delete-never": (
        "never-idle",
        {"onIdle": "Delete", "idleTimeoutSeconds": 0},
        "spec.onIdle Delete needs spec.idleTimeoutSeconds > 0",
    ),
    "unknown-policy": ("unknown-policy", {"onIdle": "Explode"}, 'supported values: "Stop", "Delete"'),
    "requests-over-limits": (
        "upside-down",
        {"room": {"resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "500m"}}}},
        "spec.room.resources.requests.cpu must not exceed limits.cpu",
    ),
    "not-a-quantity": (
        "no-quantity",
        {"room": {"resources": {"limits": {"memory": "lots"}}}},
        "must be a positive quantity",
    ),
    "long-name": ("x" * 59, {}, "metadata.name must be at most 58 characters"),
}


@pytest.mark.parametrize(("name", "spec", "says"), list(INVALID.values()), ids=list(INVALID))
def test_an_invalid_spec_is_rejected_by_the_api_server_with_a_message_that_says_why(
    sessions: DrawingSessions, name: str, spec: dict[str, Any], says: str
) -> None:
    with pytest.raises(KubeError) as refused:
        sessions.create(DrawingSessions.manifest(name, spec))
    assert refused.value.status == 422
    assert says in refused.value.message, refused.value.message
    assert sessions.find(name) is None


def test_the_owner_of_a_session_is_immutable(sessions: DrawingSessions) -> None:
    sessions.create(DrawingSessions.manifest("owned", {"owner": "u-ann"}))

    with pytest.raises(KubeError) as refused:
        sessions.patch_spec("owned", {"owner": "u-bob"})
    assert refused.value.status == 422
    assert "spec.owner is immutable" in refused.value.message
    with pytest.raises(KubeError) as removed:
        sessions.patch_spec("owned", {"owner": None})
    assert "spec.owner cannot be removed once set" in removed.value.message
    # The rest of the spec stays editable, with defaults filled in by the API server.
    assert sessions.patch_spec("owned", {"title": "Renamed"})["spec"] == {
        "owner": "u-ann",
        "title": "Renamed",
        "maxParticipants": 50,
        "idleTimeoutSeconds": 3600,
        "onIdle": "Stop",
    }


def test_a_spec_outside_the_operators_bounds_is_refused_in_the_status_and_gets_no_room(
    kube: RawKube, namespace: str, sessions: DrawingSessions, start_operator: StartOperator
) -> None:
    start_operator(room_image="registry.example/drawnet/room:1.0", max_memory="1Gi")
    sessions.create(DrawingSessions.manifest("miner", {"room": {"image": "evil.example/miner:latest"}}))
    sessions.create(
        DrawingSessions.manifest("greedy", {"room": {"resources": {"limits": {"memory": "64Gi"}}}})
    )
    sessions.create(
        DrawingSessions.manifest("other-tag", {"room": {"image": "registry.example/drawnet/room:1.1"}})
    )

    miner = sessions.wait_for_condition("miner", "Accepted", "False", reason="InvalidSpec")
    greedy = sessions.wait_for_condition("greedy", "Accepted", "False", reason="InvalidSpec")
    sessions.wait_for_condition("other-tag", "Ready", "True")

    assert miner["status"]["phase"] == "Failed"
    assert _conditions(miner)["Ready"] == ("False", "InvalidSpec")
    accepted = next(c for c in miner["status"]["conditions"] if c["type"] == "Accepted")
    assert "evil.example/miner:latest" in accepted["message"]
    assert "registry.example/drawnet/room:" in accepted["message"]
    accepted = next(c for c in greedy["status"]["conditions"] if c["type"] == "Accepted")
    assert (
        accepted["message"] == "spec.room.resources.limits.memory 64Gi exceeds the operator's max_memory 1Gi"
    )
    pods = kube.list("v1", "Pod", namespace, selector=MANAGED)
    assert [pod["metadata"]["name"] for pod in pods] == ["room-other-tag"]
    assert pods[0]["spec"]["containers"][0]["image"] == "registry.example/drawnet/room:1.1"


def test_a_room_pod_failed_by_kwok_chaos_is_replaced_and_the_status_counts_the_recovery(
    kube: RawKube, namespace: str, sessions: DrawingSessions, start_operator: StartOperator
) -> None:
    start_operator()
    sessions.create(DrawingSessions.manifest("chaos"))
    first = sessions.wait_for_condition("chaos", "Ready", "True")
    failing = _pod(kube, namespace, "chaos")
    assert failing is not None

    kube.request_sync(
        "PATCH",
        f"/api/v1/namespaces/{namespace}/pods/room-chaos",
        body={"metadata": {"labels": {CHAOS_FAIL_LABEL: "true"}}},
        content_type=MERGE_PATCH,
    )

    def replaced_and_ready() -> dict[str, Any] | None:
        session = sessions.get("chaos")
        status = session.get("status") or {}
        pod = _pod(kube, namespace, "chaos") or {"metadata": {}, "status": {}}
        ready = _conditions(session).get("Ready") == ("True", "Ready")
        fresh = (
            pod["metadata"].get("uid") != failing["metadata"]["uid"]
            and pod["status"].get("phase") == "Running"
        )
        return session if ready and fresh and status.get("recoveries") == 1 else None

    session = wait_until(replaced_and_ready, timeout=60, what="the failed room pod replaced and Ready")
    status = session["status"]
    assert status["phase"] == "Running"
    assert status["lastRecoveryTime"] >= first["status"]["readyTime"]
    assert status["readyTime"] == first["status"]["readyTime"]  # the first Ready stays the first
    (pod,) = kube.list("v1", "Pod", namespace, selector=MANAGED)
    assert CHAOS_FAIL_LABEL not in pod["metadata"]["labels"]


def test_a_lost_room_pod_and_a_deleted_service_come_back(
    kube: RawKube, namespace: str, sessions: DrawingSessions, start_operator: StartOperator
) -> None:
    start_operator()
    sessions.create(DrawingSessions.manifest("lost"))
    sessions.wait_for_condition("lost", "Ready", "True")
    pod = kube.find("v1", "Pod", namespace, "room-lost")
    service = kube.find("v1", "Service", namespace, "room-lost")
    assert pod is not None
    assert service is not None

    kube.request_sync(
        "DELETE", f"/api/v1/namespaces/{namespace}/pods/room-lost", query={"gracePeriodSeconds": "0"}
    )
    kube.request_sync("DELETE", f"/api/v1/namespaces/{namespace}/services/room-lost")

    def back() -> bool:
        new_pod = kube.find("v1", "Pod", namespace, "room-lost") or {"metadata": {}, "status": {}}
        new_service = kube.find("v1", "Service", namespace, "room-lost") or {"metadata": {}}
        session = sessions.get("lost")
        return (
            new_pod["metadata"].get("uid") not in {None, pod["metadata"]["uid"]}
            and new_service["metadata"].get("uid") not in {None, service["metadata"]["uid"]}
            and new_pod["status"].get("phase") == "Running"
            and _conditions(session)["Ready"] == ("True", "Ready")
            and session["status"]["recoveries"] == 1
        )

    wait_until(back, timeout=60, what="the room pod and Service recreated and the session Ready again")


def test_an_idle_session_ends_by_its_policy(
    kube: RawKube, namespace: str, sessions: DrawingSessions, start_operator: StartOperator
) -> None:
    start_operator(resync_seconds=1)
    sessions.create(DrawingSessions.manifest("quiet", {"idleTimeoutSeconds": 2}))
    sessions.create(DrawingSessions.manifest("ephemeral", {"idleTimeoutSeconds": 2, "onIdle": "Delete"}))

    # Stop: the room goes, the session stays, Ended.
    ended = sessions.wait_for_condition("quiet", "Ready", "False", reason="Ended", timeout=60)
    assert ended["status"]["phase"] == "Ended"
    assert ended["status"]["endTime"]
    assert _conditions(ended)["RoomReady"] == ("False", "Ended")
    wait_until(
        lambda: _pod(kube, namespace, "quiet") is None,
        timeout=30,
        what="the ended session's room pod removed",
    )
    # Delete: the session itself goes.
    sessions.wait_gone("ephemeral", timeout=60)

    # A change of spec brings an ended session back.
    sessions.patch_spec("quiet", {"idleTimeoutSeconds": 0})
    revived = sessions.wait_for_condition("quiet", "Ready", "True", timeout=60)
    assert revived["status"]["phase"] == "Running"
    assert "endTime" not in revived["status"]


def test_restarting_the_operator_creates_no_duplicates(
    kube: RawKube, namespace: str, sessions: DrawingSessions, start_operator: StartOperator
) -> None:
    first = start_operator()
    names = ["one", "two", "three"]
    for name in names:
        sessions.create(DrawingSessions.manifest(name))
    for name in names:
        sessions.wait_for_condition(name, "Ready", "True")

    def children() -> dict[str, str]:
        return {
            f"{kind}/{o['metadata']['name']}": o["metadata"]["uid"]
            for kind in ("Pod", "Service")
            for o in kube.list("v1", kind, namespace, selector=MANAGED)
        }

    before = children()
    assert len(before) == 6
    first.stop()

    second = start_operator()
    wait_until(
        lambda: second.metrics().get('drawnet_operator_reconciles_total{trigger="resume"}', 0) >= len(names),
        timeout=30,
        what="the restarted operator resumed every session",
    )

    assert children() == before
    for name in names:
        session = sessions.get(name)
        assert _conditions(session)["Ready"] == ("True", "Ready")
        assert session["status"]["recoveries"] == 0
    created = [key for key in second.metrics() if key.startswith("drawnet_operator_room_pods_replaced_total")]
    assert created == []


def test_without_the_resync_timer_events_drive_every_reconcile_and_a_failed_one_is_retried(
    kube: RawKube, namespace: str, sessions: DrawingSessions, start_operator: StartOperator
) -> None:
    """A quota that refuses pods fails the first reconcile (a Warning event says why); the operator retries
    it with backoff, so the room comes once the quota goes, long before the (hour-long) resync."""
    quota = kube.limit_pods(namespace, 0)
    operator = start_operator(resync_seconds=3600)
    sessions.create(DrawingSessions.manifest("held"))

    def refused() -> dict[str, Any] | None:
        events = kube.request_sync("GET", f"/api/v1/namespaces/{namespace}/events")["items"]
        return next(
            (e for e in events if e["reason"] == "ReconcileFailed" and e["involvedObject"]["name"] == "held"),
            None,
        )

    event = wait_until(refused, timeout=30, what="a ReconcileFailed event on the session")
    assert event["type"] == "Warning"
    assert "forbidden" in event["message"], event["message"]
    assert _pod(kube, namespace, "held") is None

    kube.request_sync("DELETE", f"/api/v1/namespaces/{namespace}/resourcequotas/{quota}")
    ready = sessions.wait_for_condition("held", "Ready", "True", timeout=60)
    metrics = operator.metrics()
    assert metrics.get('drawnet_operator_reconciles_total{trigger="create"}', 0) >= 1
    assert metrics.get('drawnet_operator_reconciles_total{trigger="retry"}', 0) >= 1
    assert metrics.get('drawnet_operator_reconciles_total{trigger="resync"}', 0) == 0
    # kopf keeps no copy of the last handled spec: the operator reconciles what is, not what changed.
    assert not any("last-handled" in key for key in ready["metadata"].get("annotations") or {})

    # A new spec (a new generation) is reconciled at once: the room is rebuilt to it.
    old_pod = _pod(kube, namespace, "held")
    assert old_pod is not None
    changed = sessions.patch_spec("held", {"room": {"resources": {"limits": {"memory": "256Mi"}}}})

    def rebuilt() -> dict[str, Any] | None:
        pod = _pod(kube, namespace, "held")
        session = sessions.get("held")
        fresh = pod is not None and pod["metadata"]["uid"] != old_pod["metadata"]["uid"]
        current = session["status"].get("observedGeneration") == changed["metadata"]["generation"]
        ready = _conditions(session).get("Ready") == ("True", "Ready")
        return pod if fresh and current and ready else None

    pod = wait_until(rebuilt, timeout=60, what="the room pod rebuilt to the new spec and Ready")
    assert pod["spec"]["containers"][0]["resources"]["limits"]["memory"] == "256Mi"
    assert operator.metrics().get('drawnet_operator_reconciles_total{trigger="update"}', 0) >= 1


def test_the_crd_installed_is_the_single_source(kube: RawKube, crd: dict[str, Any]) -> None:
    (source,) = load_yaml_documents(CRD_PATH)
    name = source["metadata"]["name"]
    served = kube.request_sync("GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
    (version,) = served["spec"]["versions"]
    assert version["name"] == "v1alpha1"
    assert version["subresources"] == {"status": {}}
    assert version["additionalPrinterColumns"] == source["spec"]["versions"][0]["additionalPrinterColumns"]
    assert version["schema"] == source["spec"]["versions"][0]["schema"]
    assert crd["spec"] == source["spec"]


@pytest.fixture(scope="session")
def httproute_crd(control_plane: ControlPlane) -> dict[str, Any]:
    """The Gateway API's own HTTPRoute CRD (fetched by tools/chart/fetch-crds.sh), installed once."""
    script = ROOT / "tools" / "chart" / "fetch-crds.sh"
    found = subprocess.run(["bash", script, "--print"], capture_output=True, text=True, check=False)
    source = Path(found.stdout.strip()) / "gateway.networking.k8s.io_httproutes.yaml"
    if found.returncode != 0 or not source.is_file():
        missing_dependency(f"the Gateway API CRDs are not fetched: run {script} ({found.stderr.strip()})")
    with control_plane.api_client() as api:
        return install_crd(api, source=source, timeout=60)


def test_with_the_gateway_api_a_session_gets_an_httproute_to_its_room(
    kube: RawKube,
    namespace: str,
    sessions: DrawingSessions,
    httproute_crd: dict[str, Any],
    start_operator: StartOperator,
) -> None:
    assert httproute_crd["spec"]["group"] == "gateway.networking.k8s.io"
    start_operator(
        exposure="httproute",
        public_host="draw.example.test",
        gateway_name="edge",
        gateway_namespace="gateways",
    )
    uid = sessions.create(DrawingSessions.manifest("routed"))["metadata"]["uid"]

    sessions.wait_for_condition("routed", "Exposed", "False", reason="RouteNotAdmitted")
    routes = f"/apis/gateway.networking.k8s.io/v1/namespaces/{namespace}/httproutes/room-routed"
    parent = {
        "group": "gateway.networking.k8s.io",
        "kind": "Gateway",
        "name": "edge",
        "namespace": "gateways",
    }

    def gateway_says(status: str, reason: str) -> None:
        """What a Gateway controller writes (Gateway API: RouteParentStatus, condition Accepted)."""
        condition = {
            "type": "Accepted",
            "status": status,
            "reason": reason,
            "message": "",
            "lastTransitionTime": "2026-01-01T00:00:00Z",
            "observedGeneration": 1,
        }
        body = {
            "status": {
                "parents": [
                    {"parentRef": parent, "controllerName": "example.test/gateway", "conditions": [condition]}
                ]
            }
        }
        kube.request_sync("PATCH", f"{routes}/status", body=body, content_type=MERGE_PATCH)

    gateway_says("False", "NotAllowedByListeners")
    wait_until(
        lambda: (
            (sessions.condition("routed", "Exposed") or {}).get("message")
            == "the room's HTTPRoute is not accepted by Gateway edge: NotAllowedByListeners"
        ),
        timeout=30,
        what="Exposed saying why the Gateway refused the route",
    )
    gateway_says("True", "Accepted")
    session = sessions.wait_for_condition("routed", "Ready", "True")

    route = kube.find("gateway.networking.k8s.io/v1", "HTTPRoute", namespace, "room-routed")
    assert route is not None
    assert _owner(route) == [("DrawingSession", "routed", uid, True, True)]
    assert route["spec"]["hostnames"] == ["draw.example.test"]
    assert route["spec"]["parentRefs"] == [
        {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "edge", "namespace": "gateways"}
    ]
    (rule,) = route["spec"]["rules"]
    assert rule["matches"][0]["path"] == {"type": "PathPrefix", "value": f"/rooms/{namespace}/routed"}
    assert [(b["name"], b["port"]) for b in rule["backendRefs"]] == [("room-routed", 8001)]
    assert session["status"]["url"] == f"wss://draw.example.test/rooms/{namespace}/routed"
    assert _conditions(session)["Exposed"] == ("True", "Exposed")

    # A route someone changed is put back by the resync timer.
    kube.request_sync(
        "PATCH",
        f"/apis/gateway.networking.k8s.io/v1/namespaces/{namespace}/httproutes/room-routed",
        body={"spec": {"hostnames": ["elsewhere.example.test"]}},
        content_type=MERGE_PATCH,
    )
    wait_until(
        lambda: (
            (kube.find("gateway.networking.k8s.io/v1", "HTTPRoute", namespace, "room-routed") or {})
            .get("spec", {})
            .get("hostnames")
            == ["draw.example.test"]
        ),
        timeout=30,
        what="the drifted HTTPRoute repaired",
    )


def test_the_operator_puts_the_rooms_signing_keys_in_every_namespace_it_starts_a_room_in(
    control_plane: ControlPlane,
    api: ApiClient,
    kube: RawKube,
    namespace: str,
    sessions: DrawingSessions,
    start_operator: StartOperator,
) -> None:
    """A room pod reads the join-token keys from a Secret in its own namespace (without it a kubelet stops
    at CreateContainerConfigError). The operator writes that Secret wherever it starts a room, so sessions
    in every namespace it serves work without copying Secrets by hand; an edited one is put back."""
    keys = "k1:" + "s" * 40
    other = control_plane.create_namespace()
    start_operator(room_signing_keys=keys, namespaces=f"{namespace},{other}")
    theirs = DrawingSessions(api, other)
    sessions.create(DrawingSessions.manifest("keyed"))
    theirs.create(DrawingSessions.manifest("keyed"))
    try:
        for where, owned in ((namespace, sessions), (other, theirs)):
            owned.wait_for_condition("keyed", "Ready", "True")
            secret = kube.find("v1", "Secret", where, "drawnet-room-signing-keys")
            assert secret is not None, where
            assert base64.b64decode(secret["data"]["signing-keys"]).decode() == keys
            pod = kube.find("v1", "Pod", where, "room-keyed")
            assert pod is not None
            env = {e["name"]: e for e in pod["spec"]["containers"][0]["env"]}
            assert env["DRAWNET_ROOM_SIGNING_KEYS"]["valueFrom"]["secretKeyRef"] == {
                "name": "drawnet-room-signing-keys",
                "key": "signing-keys",
            }

        # Someone changes the Secret: the next room the operator starts there puts the keys back first.
        kube.request_sync(
            "PATCH",
            f"/api/v1/namespaces/{other}/secrets/drawnet-room-signing-keys",
            body={"data": {"signing-keys": "eA=="}},
            content_type=MERGE_PATCH,
        )
        kube.request_sync("DELETE", f"/api/v1/namespaces/{other}/pods/room-keyed")
        wait_until(
            lambda: (
                base64.b64decode(
                    (kube.find("v1", "Secret", other, "drawnet-room-signing-keys") or {})
                    .get("data", {})
                    .get("signing-keys", "")
                ).decode()
                == keys
            ),
            timeout=60,
            what="the signing keys put back",
        )
        theirs.wait_for_condition("keyed", "Ready", "True")
    finally:
        theirs.delete("keyed")
        theirs.wait_gone("keyed")


def test_a_room_is_exposed_only_once_an_ingress_controller_admitted_its_ingress(
    kube: RawKube, namespace: str, sessions: DrawingSessions, start_operator: StartOperator
) -> None:
    """An Ingress nobody serves routes nothing: Exposed (and Ready) wait for the controller's address in
    `status.loadBalancer.ingress`, saying so, and follow it at once when it comes."""
    annotations = {"nginx.ingress.kubernetes.io/proxy-read-timeout": "3600"}
    start_operator(
        exposure="ingress", public_host="draw.example.test", ingress_annotations=json.dumps(annotations)
    )
    sessions.create(DrawingSessions.manifest("unrouted"))

    waiting = sessions.wait_for_condition("unrouted", "RoomReady", "True")  # the room itself is fine
    assert _conditions(waiting)["Exposed"] == ("False", "RouteNotAdmitted")
    assert _conditions(waiting)["Ready"] == ("False", "RouteNotAdmitted")
    assert (sessions.condition("unrouted", "Exposed") or {})["message"] == (
        "the room's Ingress has no address from an ingress controller yet "
        "(status.loadBalancer.ingress is empty)"
    )
    assert waiting["status"]["phase"] == "Pending"

    ingress = kube.find("networking.k8s.io/v1", "Ingress", namespace, "room-unrouted")
    assert (ingress or {})["metadata"][
        "annotations"
    ] == annotations  # from the chart's ingress.roomAnnotations
    kube.admit_ingress(namespace, "room-unrouted")
    ready = sessions.wait_for_condition(
        "unrouted", "Ready", "True", timeout=10
    )  # the route's event, no resync
    assert _conditions(ready)["Exposed"] == ("True", "Exposed")
