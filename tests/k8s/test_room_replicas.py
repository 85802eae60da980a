"""`spec.room.replicas` with the real operator against the real API server (KWOK runs the pods): a session
gets that many room pods, relay on, behind its one Service (which the route points at, so participants
are spread over them); scaled down, the extra pods go; a lost replica comes back; more than the operator's
max_room_replicas is refused with a message naming the bound."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from drawnet.operator.kube import KubeError
from drawnet.operator.resource import SESSION_LABEL
from drawnet.testkit.kube import wait_until
from drawnet.testkit.operator import DrawingSessions, RawKube

if TYPE_CHECKING:
    from tests.k8s.conftest import StartOperator

pytestmark = pytest.mark.k8s


def _pods(kube: RawKube, namespace: str, session: str) -> dict[str, dict[str, Any]]:
    pods = kube.list("v1", "Pod", namespace, selector=f"{SESSION_LABEL}={session}")
    return {p["metadata"]["name"]: p for p in pods if not p["metadata"].get("deletionTimestamp")}


def _env(pod: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in pod["spec"]["containers"][0]["env"]}


def test_a_session_with_three_replicas_gets_three_relaying_room_pods_behind_its_one_service(
    kube: RawKube, namespace: str, sessions: DrawingSessions, start_operator: StartOperator
) -> None:
    start_operator(max_room_replicas=3)
    sessions.create(DrawingSessions.manifest("big", {"room": {"replicas": 3}}))
    sessions.wait_for_condition("big", "Ready", "True")

    def three_running() -> dict[str, dict[str, Any]] | None:
        pods = _pods(kube, namespace, "big")
        running = all(p["status"].get("phase") == "Running" for p in pods.values())
        return pods if set(pods) == {"room-big", "room-big.1", "room-big.2"} and running else None

    pods = wait_until(three_running, timeout=60, what="three room pods running")
    for pod in pods.values():
        assert _env(pod)["DRAWNET_ROOM_RELAY_BETWEEN_REPLICAS"] == "true"
        assert _env(pod)["DRAWNET_ROOM_SESSION"] == "big"
        (owner,) = pod["metadata"]["ownerReferences"]
        assert (owner["kind"], owner["name"]) == ("DrawingSession", "big")
        (spread,) = pod["spec"]["topologySpreadConstraints"]
        assert spread["labelSelector"]["matchLabels"][SESSION_LABEL] == "big"
    service = kube.find("v1", "Service", namespace, "room-big")
    assert service is not None
    # The Service (the route's backend) selects every replica: participants are spread over them.
    selector = service["spec"]["selector"]
    assert all(selector.items() <= pod["metadata"]["labels"].items() for pod in pods.values())

    # A lost replica comes back.
    lost = pods["room-big.2"]["metadata"]["uid"]
    kube.request_sync(
        "DELETE", f"/api/v1/namespaces/{namespace}/pods/room-big.2", query={"gracePeriodSeconds": "0"}
    )

    def replaced() -> bool:
        pod = _pods(kube, namespace, "big").get("room-big.2")
        return pod is not None and pod["metadata"]["uid"] != lost and pod["status"].get("phase") == "Running"

    wait_until(replaced, timeout=60, what="the lost replica recreated")

    # Scaled down to one: the extra replicas go; the first is replaced once without the relay.
    sessions.patch_spec("big", {"room": {"replicas": 1}})

    def one_left() -> dict[str, Any] | None:
        pods = _pods(kube, namespace, "big")
        pod = pods.get("room-big")
        relay = pod is not None and "DRAWNET_ROOM_RELAY_BETWEEN_REPLICAS" in _env(pod)
        return pod if set(pods) == {"room-big"} and not relay else None

    wait_until(one_left, timeout=60, what="one room pod left, without the relay")
    sessions.wait_for_condition("big", "Ready", "True")


def test_more_replicas_than_the_operator_allows_are_refused_naming_the_bound(
    kube: RawKube, namespace: str, sessions: DrawingSessions, start_operator: StartOperator
) -> None:
    start_operator(max_room_replicas=2)
    sessions.create(DrawingSessions.manifest("huge", {"room": {"replicas": 5}}))
    huge = sessions.wait_for_condition("huge", "Accepted", "False", reason="InvalidSpec")
    accepted = next(c for c in huge["status"]["conditions"] if c["type"] == "Accepted")
    assert accepted["message"] == "spec.room.replicas 5 exceeds the operator's max_room_replicas 2"
    assert _pods(kube, namespace, "huge") == {}


def test_the_api_server_refuses_replicas_outside_the_crds_range(sessions: DrawingSessions) -> None:
    with pytest.raises(KubeError) as refused:
        sessions.create(DrawingSessions.manifest("zero", {"room": {"replicas": 0}}))
    assert refused.value.status == 422
    assert "spec.room.replicas" in refused.value.message, refused.value.message
