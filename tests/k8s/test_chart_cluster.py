"""The chart against the real test control plane: every manifest of every value set passes the API
server's server-side dry-run (strict field validation, the upstream ServiceMonitor, PodMonitor,
PrometheusRule and HTTPRoute CRDs installed); a real `helm install` keeps its Secrets across an upgrade and
an uninstall; nothing keeps a drain from evicting an active room, whose replacement the operator starts at
once; and the operator does its job, in every namespace it serves, with exactly the RBAC the chart
renders."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from drawnet.operator.kube import KubeError
from drawnet.testkit.kube import ControlPlane, wait_until
from drawnet.testkit.operator import DrawingSessions, RawKube, service_account_kubeconfig
from tests.chart.helm import (
    CHART,
    RELEASE,
    REQUIRED,
    ROOT,
    VALUE_SETS,
    helm,
    merged,
    one,
    template,
    values_file,
)
from tests.conftest import missing_dependency

if TYPE_CHECKING:
    from collections.abc import Iterator

    from kubernetes.client import ApiClient

    from tests.k8s.conftest import StartOperator

pytestmark = pytest.mark.k8s

FIELD_MANAGER = "drawnet-chart-test"
APPLY = "application/apply-patch+yaml"
CRDS = "apiextensions.k8s.io/v1/customresourcedefinitions"


@pytest.fixture(scope="session")
def upstream_crds(control_plane: ControlPlane) -> list[str]:
    """The Prometheus Operator's and the Gateway API's CRDs (tools/chart/fetch-crds.sh), installed once."""
    script = ROOT / "tools" / "chart" / "fetch-crds.sh"
    result = subprocess.run(["bash", script, "--print"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        missing_dependency(f"upstream CRDs not fetched: run {script} ({result.stderr.strip()})")
    names = []
    with control_plane.api_client() as api:
        kube = RawKube(api)
        for path in sorted(Path(result.stdout.strip()).glob("*.yaml")):
            crd = yaml.safe_load(path.read_text(encoding="utf-8"))
            apply(kube, crd, "", dry_run=False)
            names.append(crd["metadata"]["name"])

        def established() -> bool:
            for name in names:
                found = kube.request_sync("GET", f"/apis/{CRDS}/{name}")
                conditions = found.get("status", {}).get("conditions", [])
                if not any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
                    return False
            return True

        wait_until(established, timeout=60, what=f"CRDs {names} Established")
    return names


_resources: dict[tuple[str, str], tuple[str, bool]] = {}


def _resource(kube: RawKube, api_version: str, kind: str) -> tuple[str, bool]:
    """(plural, namespaced) of a kind, from the API server's discovery."""
    if (api_version, kind) not in _resources:
        base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        for resource in kube.request_sync("GET", base)["resources"]:
            if "/" not in resource["name"]:
                _resources[(api_version, resource["kind"])] = (resource["name"], resource["namespaced"])
    return _resources[(api_version, kind)]


def apply(kube: RawKube, manifest: dict[str, Any], namespace: str, *, dry_run: bool) -> dict[str, Any]:
    """`kubectl apply --server-side [--dry-run=server] --validate=strict`: the API server admits (and with
    `dry_run`, forgets) the object, or says why not (KubeError)."""
    api_version, kind, name = manifest["apiVersion"], manifest["kind"], manifest["metadata"]["name"]
    plural, namespaced = _resource(kube, api_version, kind)
    base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    if namespaced:
        base += f"/namespaces/{manifest['metadata'].get('namespace', namespace)}"
    query = {"fieldManager": FIELD_MANAGER, "force": "true", "fieldValidation": "Strict"}
    if dry_run:
        query["dryRun"] = "All"
    return kube.request_sync(
        "PATCH", f"{base}/{plural}/{name}", body=manifest, content_type=APPLY, query=query
    )


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_every_manifest_passes_the_api_servers_server_side_dry_run(
    name: str,
    control_plane: ControlPlane,
    kube: RawKube,
    namespace: str,
    crd: dict[str, Any],
    upstream_crds: list[str],
    tmp_path: Path,
) -> None:
    assert crd["kind"] == "CustomResourceDefinition"
    assert len(upstream_crds) == 4
    values = VALUE_SETS[name]
    if values.get("operator", {}).get("namespaces", ["*"]) != ["*"]:
        # The teams' namespaces must exist for their RoleBindings and NetworkPolicies (the release's own
        # is one of them: the web app's sessions are made there).
        teams = [control_plane.create_namespace() for _ in values["operator"]["namespaces"][1:]]
        values = merged(values, {"operator": {"namespaces": [namespace, *teams]}})
    objects = template(values, tmp_path, namespace=namespace)
    refused = []
    for manifest in objects:
        try:
            admitted = apply(kube, manifest, namespace, dry_run=True)
        except KubeError as error:
            refused.append(f"{manifest['kind']} {manifest['metadata']['name']}: {error}")
            continue
        assert admitted["kind"] == manifest["kind"]
    assert not refused, "\n".join(refused)


def _secret_values(kube: RawKube, namespace: str) -> dict[str, dict[str, str]]:
    secrets = kube.request_sync(
        "GET",
        f"/api/v1/namespaces/{namespace}/secrets",
        query={"labelSelector": "app.kubernetes.io/part-of=drawnet"},
    )["items"]
    return {
        s["metadata"]["name"]: {k: base64.b64decode(v).decode() for k, v in s.get("data", {}).items()}
        for s in secrets
    }


def test_helm_install_upgrade_and_uninstall_keep_the_generated_secrets(
    control_plane: ControlPlane,
    kube: RawKube,
    namespace: str,
    crd: dict[str, Any],
    upstream_crds: list[str],
    tmp_path: Path,
) -> None:
    assert crd
    assert upstream_crds
    kubeconfig = control_plane.kubeconfig
    required = values_file(REQUIRED, tmp_path, "required")
    installed = helm(
        "install",
        RELEASE,
        CHART,
        "--namespace",
        namespace,
        "--values",
        required,
        kubeconfig=kubeconfig,
        timeout=120,
    )
    assert "STATUS: deployed" in installed.stdout
    # NOTES.txt: what to do next.
    assert f"kubectl -n {namespace} rollout status deployment/{RELEASE}-drawnet-operator" in installed.stdout
    assert "examples/drawingsession.yaml" in installed.stdout
    assert "FOR EVALUATION ONLY" in installed.stdout

    first = _secret_values(kube, namespace)
    assert set(first) == {f"{RELEASE}-drawnet-{s}" for s in ("signing-keys", "service-token", "database")}
    keys = first[f"{RELEASE}-drawnet-signing-keys"]["signing-keys"]
    kid, _, secret = keys.partition(":")
    assert kid.startswith("k")
    assert len(secret) >= 32
    assert len(first[f"{RELEASE}-drawnet-service-token"]["service-token"]) >= 32
    database = first[f"{RELEASE}-drawnet-database"]
    assert database["database-url"] == (
        f"postgresql://drawnet:{database['password']}@{RELEASE}-drawnet-postgresql.{namespace}"
        ".svc.cluster.local:5432/drawnet"
    )

    changed = values_file({"operator": {"logLevel": "DEBUG"}}, tmp_path)
    upgraded = helm(
        "upgrade",
        RELEASE,
        CHART,
        "--namespace",
        namespace,
        "--values",
        required,
        "--values",
        changed,
        kubeconfig=kubeconfig,
        timeout=120,
    )
    assert "REVISION: 2" in upgraded.stdout
    assert _secret_values(kube, namespace) == first

    helm("uninstall", RELEASE, "--namespace", namespace, kubeconfig=kubeconfig, timeout=120)
    wait_until(
        lambda: not kube.request_sync("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments")["items"],
        timeout=30,
        what="the release's Deployments removed",
    )
    # helm.sh/resource-policy: keep. A reinstall finds the same keys, token and password.
    assert _secret_values(kube, namespace) == first
    helm(
        "install",
        RELEASE,
        CHART,
        "--namespace",
        namespace,
        "--values",
        required,
        kubeconfig=kubeconfig,
        timeout=120,
    )
    assert _secret_values(kube, namespace) == first
    helm("uninstall", RELEASE, "--namespace", namespace, kubeconfig=kubeconfig, timeout=120)


def test_a_drain_evicts_an_active_room_at_once_and_the_operator_starts_its_replacement(
    kube: RawKube, namespace: str, sessions: DrawingSessions, start_operator: StartOperator
) -> None:
    """The chart used to give rooms a PodDisruptionBudget of minAvailable 1000000: `kubectl drain` and
    managed node upgrades waited for as long as anyone drew. Rooms are bare pods (a budget over them can
    only be an absolute minAvailable), so there is none: an eviction goes through, the room drains itself
    (in-flight ops acknowledged, clients told to reconnect) and the operator starts its replacement."""
    start_operator()
    sessions.create(DrawingSessions.manifest("drained"))
    sessions.wait_for_condition("drained", "Ready", "True")
    budgets = kube.request_sync("GET", f"/apis/policy/v1/namespaces/{namespace}/poddisruptionbudgets")
    assert not budgets["items"]
    old = kube.find("v1", "Pod", namespace, "room-drained")
    assert old is not None
    eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "room-drained"}}
    kube.request_sync("POST", f"/api/v1/namespaces/{namespace}/pods/room-drained/eviction", body=eviction)

    def replaced() -> bool:
        pod = kube.find("v1", "Pod", namespace, "room-drained")
        return pod is not None and pod["metadata"]["uid"] != old["metadata"]["uid"]

    wait_until(replaced, timeout=60, what="a new room pod after the eviction")
    back = sessions.wait_for_condition("drained", "Ready", "True")
    assert back["status"]["recoveries"] == 1


@pytest.fixture
def chart_operator_account(
    control_plane: ControlPlane, kube: RawKube, namespace: str, tmp_path: Path
) -> Iterator[tuple[Path, str]]:
    """The chart's ServiceAccount, ClusterRole and RoleBindings for the operator serving the release's own
    namespace and a team's, applied as rendered; a kubeconfig with a token of that account, and the
    team's namespace."""
    other = control_plane.create_namespace()
    values = merged(REQUIRED, {"operator": {"namespaces": [namespace, other]}})
    objects = template(values, tmp_path, namespace=namespace)
    rbac = [
        o
        for o in objects
        if o["kind"] in {"ServiceAccount", "ClusterRole", "RoleBinding"}
        and o["metadata"]["labels"]["app.kubernetes.io/component"] == "operator"
    ]
    assert sorted(o["kind"] for o in rbac) == ["ClusterRole", "RoleBinding", "RoleBinding", "ServiceAccount"]
    for manifest in rbac:
        apply(kube, manifest, namespace, dry_run=False)
    yield (
        service_account_kubeconfig(
            kube.api,
            server=control_plane.server,
            ca_cert=control_plane.ca_cert,
            namespace=namespace,
            name=one(objects, "ServiceAccount", "-operator")["metadata"]["name"],
            path=tmp_path / "operator.kubeconfig",
        ),
        other,
    )
    role = next(o for o in rbac if o["kind"] == "ClusterRole")["metadata"]["name"]
    kube.request_sync("DELETE", f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{role}")


def test_the_operator_serves_its_namespaces_with_exactly_the_rbac_the_chart_renders(
    api: ApiClient,
    kube: RawKube,
    sessions: DrawingSessions,
    chart_operator_account: tuple[Path, str],  # before start_operator: its RBAC outlives the clean-up
    start_operator: StartOperator,
    namespace: str,
) -> None:
    """The release's namespace and a team's, as the chart binds them: sessions in both get rooms, and the
    rooms' join-token keys Secret is written in both (a room pod reading a Secret that is not there stops
    at CreateContainerConfigError on a real node)."""
    kubeconfig, other = chart_operator_account
    keys = "k1:" + "s" * 40
    operator = start_operator(
        kubeconfig=kubeconfig, namespaces=f"{namespace},{other}", room_signing_keys=keys
    )
    theirs = DrawingSessions(api, other)
    for owned in (sessions, theirs):
        owned.create(DrawingSessions.manifest("charted", {"idleTimeoutSeconds": 0}))
    for where, owned in ((namespace, sessions), (other, theirs)):
        owned.wait_for_condition("charted", "Ready", "True", timeout=60)
        secret = kube.find("v1", "Secret", where, "drawnet-room-signing-keys")
        assert secret is not None, where
        assert base64.b64decode(secret["data"]["signing-keys"]).decode() == keys
        owned.delete("charted")  # the finalizer's step, under the same RBAC
        owned.wait_gone("charted", timeout=60)
    assert not operator.permission_errors()
