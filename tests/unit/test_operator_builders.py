"""The operator's pure builders: a session's room Pod, Service and routes, without a cluster."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from drawnet.operator.builders import (
    admitted,
    build_room_httproute,
    build_room_ingress,
    build_room_pod,
    build_room_service,
    build_route,
    build_signing_keys_secret,
    drifted,
    room_url,
    template_hash,
)
from drawnet.operator.reconcile import ClusterView
from drawnet.operator.resource import TEMPLATE_HASH, child_name
from drawnet.operator.settings import OperatorSettings
from drawnet.operator.spec import parse_spec


def _settings(**values: Any) -> OperatorSettings:
    return OperatorSettings(**values)


def _env(pod: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in pod["spec"]["containers"][0]["env"]}


class TestRoomPod:
    def test_it_hosts_exactly_its_session_in_its_namespace_and_says_so_in_its_labels(self) -> None:
        settings = _settings()
        pod = build_room_pod("team-a", "retro", parse_spec({}, settings), settings)

        assert pod["metadata"]["name"] == "room-retro"
        assert pod["metadata"]["namespace"] == "team-a"
        assert pod["metadata"]["labels"] == {
            "app.kubernetes.io/name": "drawnet-room",
            "app.kubernetes.io/instance": "retro",
            "app.kubernetes.io/managed-by": "drawnet-operator",
            "app.kubernetes.io/component": "room",
            "drawnet.dev/session": "retro",
        }
        env = _env(pod)
        assert env["DRAWNET_ROOM_SESSION"] == "retro"
        assert env["DRAWNET_ROOM_NAMESPACE"] == "team-a"
        assert env["DRAWNET_ROOM_HOST"] == "0.0.0.0"
        assert env["DRAWNET_ROOM_REPLICA_ID"] == {"fieldRef": {"fieldPath": "metadata.uid"}}
        assert env["DRAWNET_ROOM_SIGNING_KEYS"] == {
            "secretKeyRef": {"name": "drawnet-room-signing-keys", "key": "signing-keys"}
        }
        assert "DRAWNET_ROOM_ALLOW_ANONYMOUS" not in env

    def test_its_image_resources_and_security_context_come_from_the_operators_settings(self) -> None:
        settings = _settings(
            room_image="registry.example/room:2.0", room_run_as_user=4242, room_cpu_limit="3", max_cpu="4"
        )
        pod = build_room_pod("ns", "s", parse_spec({}, settings), settings)
        container = pod["spec"]["containers"][0]

        assert container["image"] == "registry.example/room:2.0"
        assert container["resources"] == {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "3", "memory": "512Mi"},
        }
        assert container["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        }
        assert pod["spec"]["securityContext"] == {
            "runAsNonRoot": True,
            "runAsUser": 4242,
            "runAsGroup": 4242,
            "fsGroup": 4242,
            "seccompProfile": {"type": "RuntimeDefault"},
        }
        assert pod["spec"]["automountServiceAccountToken"] is False

    def test_a_session_may_override_image_and_resources_within_bounds(self) -> None:
        settings = _settings(room_image="registry.example/room:2.0")
        spec = parse_spec(
            {"room": {"image": "registry.example/room:2.1", "resources": {"limits": {"memory": "1Gi"}}}},
            settings,
        )
        container = build_room_pod("ns", "s", spec, settings)["spec"]["containers"][0]

        assert container["image"] == "registry.example/room:2.1"
        assert container["resources"]["limits"]["memory"] == "1Gi"

    def test_ready_means_the_rooms_own_readyz_and_a_sigterm_gets_the_drain_time(self) -> None:
        settings = _settings(room_drain_grace_seconds=12)
        pod = build_room_pod("ns", "s", parse_spec({}, settings), settings)
        container = pod["spec"]["containers"][0]

        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "ws"}
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "ws"}
        assert pod["spec"]["terminationGracePeriodSeconds"] == 17
        assert _env(pod)["DRAWNET_ROOM_DRAIN_GRACE_SECONDS"] == "12"

    def test_a_room_waiting_for_nats_is_not_killed_and_a_busy_one_gets_time_to_answer(self) -> None:
        """The room answers /healthz as soon as its process serves HTTP, and /readyz once NATS, the op log
        and its board are there: the startup probe gives the process its named budget, liveness then
        watches /healthz with a timeout a board load cannot exceed, readiness follows /readyz."""
        settings = _settings(room_startup_seconds=301, room_probe_timeout_seconds=7)
        container = build_room_pod("ns", "s", parse_spec({}, settings), settings)["spec"]["containers"][0]

        startup = container["startupProbe"]
        assert startup["httpGet"] == {"path": "/healthz", "port": "ws"}
        assert startup["periodSeconds"] * startup["failureThreshold"] >= 301
        assert startup["periodSeconds"] * (startup["failureThreshold"] - 1) < 301
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert container[probe]["timeoutSeconds"] == 7, probe
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "ws"}
        assert (
            _env(build_room_pod("ns", "s", parse_spec({}, settings), settings))[
                "DRAWNET_ROOM_PING_INTERVAL_SECONDS"
            ]
            == "25"
        )
        defaults = _settings()
        default = build_room_pod("ns", "s", parse_spec({}, defaults), defaults)["spec"]["containers"][0]
        assert default["startupProbe"]["periodSeconds"] * default["startupProbe"]["failureThreshold"] == 300
        assert default["livenessProbe"]["timeoutSeconds"] == 5

    def test_the_charts_image_pull_secrets_reach_the_room_pod(self) -> None:
        settings = _settings(room_image_pull_secrets="regcred, other")
        pod = build_room_pod("ns", "s", parse_spec({}, settings), settings)

        assert pod["spec"]["imagePullSecrets"] == [{"name": "regcred"}, {"name": "other"}]
        plain = _settings()
        assert "imagePullSecrets" not in build_room_pod("ns", "s", parse_spec({}, plain), plain)["spec"]

    def test_the_signing_keys_secret_the_operator_writes_is_the_one_the_room_reads(self) -> None:
        keys = "k1:" + "s" * 40
        settings = _settings(room_signing_keys=keys)
        secret = build_signing_keys_secret("team-a", settings)
        env = _env(build_room_pod("team-a", "s", parse_spec({}, settings), settings))

        ref = env["DRAWNET_ROOM_SIGNING_KEYS"]["secretKeyRef"]
        assert (secret["metadata"]["namespace"], secret["metadata"]["name"]) == ("team-a", ref["name"])
        assert ref["name"] == "drawnet-room-signing-keys"
        assert base64.b64decode(secret["data"][ref["key"]]).decode() == keys

    def test_without_a_signing_keys_secret_the_room_lets_anyone_in(self) -> None:
        settings = _settings(room_signing_keys_secret="")
        env = _env(build_room_pod("ns", "s", parse_spec({}, settings), settings))

        assert env["DRAWNET_ROOM_ALLOW_ANONYMOUS"] == "true"
        assert "DRAWNET_ROOM_SIGNING_KEYS" not in env

    def test_its_hash_changes_with_what_it_runs_and_only_then(self) -> None:
        settings = _settings()
        one = build_room_pod("ns", "s", parse_spec({}, settings), settings)
        same = build_room_pod("ns", "s", parse_spec({}, settings), settings)
        more = build_room_pod("ns", "s", parse_spec({"maxParticipants": 7}, settings), settings)

        assert one["metadata"]["annotations"][TEMPLATE_HASH] == template_hash(one)
        assert template_hash(one) == template_hash(same)
        assert template_hash(one) != template_hash(more)
        assert _env(more)["DRAWNET_ROOM_MAX_PARTICIPANTS"] == "7"


class TestServiceAndRoutes:
    def test_the_service_selects_the_sessions_room_by_label(self) -> None:
        service = build_room_service("ns", "retro", _settings(room_port=9000))

        assert service["spec"]["clusterIP"] == "None"  # headless: no address, no kube-proxy rules
        assert (
            "clusterIP" not in build_room_service("ns", "r", _settings(room_service_headless=False))["spec"]
        )
        assert service["metadata"]["name"] == child_name("retro") == "room-retro"
        assert service["spec"]["selector"] == {
            "drawnet.dev/session": "retro",
            "app.kubernetes.io/component": "room",
        }
        assert service["spec"]["ports"] == [
            {
                "name": "ws",
                "port": 9000,
                "targetPort": "ws",
                "protocol": "TCP",
                "appProtocol": "kubernetes.io/ws",
            }
        ]

    def test_without_exposure_there_is_no_route_and_the_url_is_the_services(self) -> None:
        settings = _settings()
        assert build_route("ns", "retro", settings) is None
        assert room_url("ns", "retro", settings) == "ws://room-retro.ns.svc:8001/rooms/ns/retro"

    def test_an_ingress_routes_the_rooms_path_on_the_public_host(self) -> None:
        settings = _settings(
            exposure="ingress",
            public_host="draw.example.com",
            ingress_class_name="nginx",
            ingress_tls_secret="tls",
        )
        ingress = build_room_ingress("ns", "retro", settings)

        assert build_route("ns", "retro", settings) == ingress
        assert ingress["spec"] == {
            "ingressClassName": "nginx",
            "tls": [{"hosts": ["draw.example.com"], "secretName": "tls"}],
            "rules": [
                {
                    "host": "draw.example.com",
                    "http": {
                        "paths": [
                            {
                                "path": "/rooms/ns/retro",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "room-retro", "port": {"name": "ws"}}},
                            }
                        ]
                    },
                }
            ],
        }
        assert room_url("ns", "retro", settings) == "wss://draw.example.com/rooms/ns/retro"

    def test_an_httproute_attaches_to_the_configured_gateway(self) -> None:
        settings = _settings(
            exposure="httproute",
            public_host="draw.example.com",
            public_tls=False,
            gateway_name="edge",
            gateway_namespace="gateways",
            gateway_section_name="https",
        )
        route = build_room_httproute("ns", "retro", settings)

        assert build_route("ns", "retro", settings) == route
        assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
        assert route["spec"] == {
            "parentRefs": [
                {
                    "group": "gateway.networking.k8s.io",
                    "kind": "Gateway",
                    "name": "edge",
                    "namespace": "gateways",
                    "sectionName": "https",
                }
            ],
            "hostnames": ["draw.example.com"],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/rooms/ns/retro"}}],
                    "backendRefs": [{"name": "room-retro", "port": 8001}],
                }
            ],
        }
        assert room_url("ns", "retro", settings) == "ws://draw.example.com/rooms/ns/retro"

    def test_room_ingresses_carry_the_configured_annotations(self) -> None:
        annotations = {"nginx.ingress.kubernetes.io/proxy-read-timeout": "3600"}
        settings = _settings(
            exposure="ingress", public_host="draw.example.com", ingress_annotations=json.dumps(annotations)
        )

        assert build_room_ingress("ns", "retro", settings)["metadata"]["annotations"] == annotations
        with pytest.raises(ValueError, match="ingress_annotations must be a JSON object of strings"):
            _settings(ingress_annotations='{"a": 1}')

    def test_sessions_of_one_name_in_two_namespaces_get_two_paths_on_the_public_host(self) -> None:
        settings = _settings(exposure="ingress", public_host="draw.example.com")
        paths = {
            build_room_ingress(ns, "retro", settings)["spec"]["rules"][0]["http"]["paths"][0]["path"]
            for ns in ("team-a", "team-b")
        }
        assert paths == {"/rooms/team-a/retro", "/rooms/team-b/retro"}


class TestAdmitted:
    """Exposed turns True when the route routes: its controller says so in its status."""

    def test_an_ingress_is_admitted_once_its_controller_gave_it_an_address(self) -> None:
        ingress = build_room_ingress("ns", "r", _settings(exposure="ingress", public_host="h.example"))
        waiting = admitted("Ingress", ingress)
        served = admitted(
            "Ingress", {**ingress, "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.9"}]}}}
        )

        assert waiting == (
            False,
            "has no address from an ingress controller yet (status.loadBalancer.ingress is empty)",
        )
        assert served == (True, "")
        assert admitted("Ingress", None) == (False, "does not exist yet")

    def test_an_httproute_is_admitted_once_every_parent_accepted_it(self) -> None:
        def route(*conditions: dict[str, str]) -> dict[str, Any]:
            parent = {
                "parentRef": {"name": "edge"},
                "controllerName": "x.io/gw",
                "conditions": list(conditions),
            }
            return {"kind": "HTTPRoute", "status": {"parents": [parent]}}

        accepted = {"type": "Accepted", "status": "True", "reason": "Accepted"}
        refused = {"type": "Accepted", "status": "False", "reason": "NotAllowedByListeners", "message": "no"}
        unresolved = {"type": "ResolvedRefs", "status": "False", "reason": "BackendNotFound"}

        assert admitted("HTTPRoute", {"kind": "HTTPRoute"}) == (
            False,
            "is not accepted by its Gateway yet (no status.parents)",
        )
        assert admitted("HTTPRoute", route(accepted)) == (True, "")
        assert admitted("HTTPRoute", route(refused)) == (
            False,
            "is not accepted by Gateway edge: NotAllowedByListeners (no)",
        )
        assert admitted("HTTPRoute", route(accepted, unresolved)) == (
            False,
            "has unresolved backends on Gateway edge (BackendNotFound)",
        )


class TestDrift:
    def test_what_the_server_adds_is_not_drift(self) -> None:
        desired = build_room_service("ns", "s", _settings())["spec"]
        actual = {**desired, "clusterIPs": ["None"], "sessionAffinity": "None", "ipFamilies": ["IPv4"]}
        actual["ports"] = [{**desired["ports"][0], "nodePort": None}]

        assert not drifted(desired, actual)

    @pytest.mark.parametrize(
        "change",
        [
            {"selector": {"drawnet.dev/session": "other"}},
            {"ports": []},
            {"type": "NodePort"},
        ],
    )
    def test_a_changed_or_missing_field_is_drift(self, change: dict[str, Any]) -> None:
        desired = build_room_service("ns", "s", _settings())["spec"]

        assert drifted(desired, {**desired, **change})


class TestReplicas:
    def test_one_replica_is_the_pod_it_always_was_without_the_relay(self) -> None:
        settings = _settings()
        pod = build_room_pod("team-a", "retro", parse_spec({}, settings), settings)
        assert pod["metadata"]["name"] == "room-retro"
        assert "DRAWNET_ROOM_RELAY_BETWEEN_REPLICAS" not in _env(pod)
        assert "topologySpreadConstraints" not in pod["spec"]

    def test_each_replica_has_its_own_name_the_sessions_labels_and_the_relay_on(self) -> None:
        settings = _settings(max_room_replicas=3)
        spec = parse_spec({"room": {"replicas": 3}}, settings)
        pods = [build_room_pod("team-a", "retro", spec, settings, index=i) for i in range(3)]
        assert [p["metadata"]["name"] for p in pods] == ["room-retro", "room-retro.1", "room-retro.2"]
        service = build_room_service("team-a", "retro", settings)
        for pod in pods:
            # The session's Service (the route's backend) selects them all: participants are spread.
            assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
            assert _env(pod)["DRAWNET_ROOM_RELAY_BETWEEN_REPLICAS"] == "true"
            (spread,) = pod["spec"]["topologySpreadConstraints"]
            assert spread["whenUnsatisfiable"] == "ScheduleAnyway"
        # Never the name of another session's room (`retro-1`'s is room-retro-1); hostnames have no dots.
        assert "room-retro-1" not in [p["metadata"]["name"] for p in pods]
        assert [p["spec"].get("hostname") for p in pods] == [None, "room-retro-1", "room-retro-2"]

    def test_the_view_tells_further_replicas_from_the_first_pod_and_from_other_sessions(self) -> None:
        def pod(name: str, session: str) -> dict[str, Any]:
            labels = {"drawnet.dev/session": session, "app.kubernetes.io/component": "room"}
            return {"metadata": {"name": name, "namespace": "ns", "labels": labels}}

        assert ClusterView.replica_index(pod("room-retro.2", "retro")) == (("ns", "retro"), 2)
        assert ClusterView.replica_index(pod("room-retro", "retro")) is None
        assert ClusterView.replica_index(pod("room-retro.x", "retro")) is None
        assert ClusterView.replica_index(pod("room-retro-1", "retro-1")) is None  # session retro-1's room
        view = ClusterView()
        assert view.observe_child("Pod", "ADDED", pod("room-retro.1", "retro")) == ("ns", "retro")
        assert ("ns", "retro", 1) in view.replicas
        assert view.pods == {}
