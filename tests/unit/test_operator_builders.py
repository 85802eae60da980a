"""The operator's pure builders: a session's room Pod, Service and routes, without a cluster."""

from __future__ import annotations

from typing import Any

import pytest

from drawnet.operator.builders import (
    build_room_httproute,
    build_room_ingress,
    build_room_pod,
    build_room_service,
    build_route,
    drifted,
    room_url,
    template_hash,
)
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
            "secretKeyRef": {"name": "drawnet-signing-keys", "key": "signing-keys"}
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
        assert room_url("ns", "retro", settings) == "ws://room-retro.ns.svc:8001/rooms/retro"

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
                                "path": "/rooms/retro",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "room-retro", "port": {"name": "ws"}}},
                            }
                        ]
                    },
                }
            ],
        }
        assert room_url("ns", "retro", settings) == "wss://draw.example.com/rooms/retro"

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
                    "matches": [{"path": {"type": "PathPrefix", "value": "/rooms/retro"}}],
                    "backendRefs": [{"name": "room-retro", "port": 8001}],
                }
            ],
        }
        assert room_url("ns", "retro", settings) == "ws://draw.example.com/rooms/retro"


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
