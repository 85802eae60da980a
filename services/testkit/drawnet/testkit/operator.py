"""The operator for tests and benches: a real `python -m drawnet.operator` process, plus what it needs
from a cluster (the CRD, the RBAC, a ServiceAccount's kubeconfig) and KWOK's chaos stage.

    crd = install_crd(api)                                 # from the operator's single source
    with OperatorProcess(kubeconfig, log_path=..., env={"DRAWNET_OPERATOR_RESYNC_SECONDS": "2"}) as op:
        op.metrics()["drawnet_operator_reconciles_total"]
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import httpx
from prometheus_client.parser import text_string_to_metric_families

from drawnet.embedded.components import free_port
from drawnet.embedded.processes import Supervised, python_module
from drawnet.operator.kube import MERGE_PATCH, Kube, KubeError, collection_path
from drawnet.operator.resource import API_VERSION, CRD_PATH, KIND, RBAC_PATH, load_yaml_documents
from drawnet.testkit.kube import wait_until

if TYPE_CHECKING:
    from types import TracebackType

    from kubernetes.client import ApiClient

__all__ = [
    "CHAOS_FAIL_LABEL",
    "CHAOS_STAGE",
    "DrawingSessions",
    "OperatorProcess",
    "RawKube",
    "install_crd",
    "install_rbac",
    "install_role",
    "service_account_kubeconfig",
    "stages_with_chaos",
]

CHAOS_FAIL_LABEL = "pod-container-running-failed.stage.kwok.x-k8s.io"
"""Label a Running pod with this (value "true") and KWOK fails it: its container terminates with an
error and the pod's phase becomes Failed, as a crashed node or an OOM-killed, non-restarting pod would."""

# After kwok's own kustomize/stage/pod/chaos/pod-container-running-failed.yaml (v0.8.0), trimmed to what
# a room pod has: one container, no init containers. Weighted above pod-ready so it wins when both match.
CHAOS_STAGE = f"""\
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-container-running-failed
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.labels["{CHAOS_FAIL_LABEL}"]'
      operator: 'In'
      values: ['true']
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values: ['Running']
  weight: 10000
  next:
    statusTemplate: |
      {{{{ $now := Now }}}}
      conditions:
      - lastTransitionTime: {{{{ $now | Quote }}}}
        status: "True"
        type: Initialized
      - lastTransitionTime: {{{{ $now | Quote }}}}
        status: "False"
        type: Ready
      - lastTransitionTime: {{{{ $now | Quote }}}}
        status: "False"
        type: ContainersReady
      containerStatuses:
      {{{{ range .spec.containers }}}}
      - image: {{{{ .image | Quote }}}}
        name: {{{{ .name | Quote }}}}
        ready: false
        restartCount: 0
        started: false
        state:
          terminated:
            exitCode: 137
            finishedAt: {{{{ $now | Quote }}}}
            reason: KwokChaos
            message: failed by the KWOK chaos stage
            startedAt: {{{{ $now | Quote }}}}
      {{{{ end }}}}
      phase: Failed
"""


def stages_with_chaos(default_stages: Path, directory: Path) -> Path:
    """KWOK's default stages (as tools/k8s/build.sh wrote them) plus the chaos stage, in one config file."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "kwok-stages-with-chaos.yaml"
    path.write_text(
        default_stages.read_text(encoding="utf-8").rstrip() + "\n---\n" + CHAOS_STAGE, encoding="utf-8"
    )
    return path


def install_crd(api: ApiClient, *, source: Path = CRD_PATH, timeout: float = 30.0) -> dict[str, Any]:
    """Create (or replace) a CRD -- by default the DrawingSession's, from its single source -- and wait
    until it is served."""
    kube = RawKube(api)
    (crd,) = load_yaml_documents(source)
    collection = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    name = crd["metadata"]["name"]
    try:
        kube.request_sync("POST", collection, body=crd)
    except KubeError as error:
        if not error.conflict:
            raise
        current = kube.request_sync("GET", f"{collection}/{name}")
        replacement = {
            **crd,
            "metadata": {**crd["metadata"], "resourceVersion": current["metadata"]["resourceVersion"]},
        }
        kube.request_sync("PUT", f"{collection}/{name}", body=replacement)

    def established() -> bool:
        conditions = (
            kube.request_sync("GET", f"{collection}/{name}").get("status", {}).get("conditions") or []
        )
        return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)

    wait_until(established, timeout=timeout, what=f"CRD {name} Established")
    # Established is not yet served: until its storage is initialized, lists answer 429.
    group, version = crd["spec"]["group"], crd["spec"]["versions"][0]["name"]
    plural = crd["spec"]["names"]["plural"]
    wait_until(
        lambda: (
            kube.request_sync("GET", f"/apis/{group}/{version}/{plural}", query={"limit": "1"}) is not None
        ),
        timeout=timeout,
        what=f"{plural} served",
    )
    return crd


def install_rbac(api: ApiClient, *, service_account: str, namespace: str) -> str:
    """The operator's ClusterRole (from its single source) bound to `namespace/service_account`.

    Returns the ClusterRoleBinding's name (delete it when done). The ClusterRole stays for later tests.
    """
    kube = RawKube(api)
    (role,) = load_yaml_documents(RBAC_PATH)
    rbac = "/apis/rbac.authorization.k8s.io/v1"
    name = role["metadata"]["name"]
    try:
        kube.request_sync("POST", f"{rbac}/clusterroles", body=role)
    except KubeError as error:
        if not error.conflict:
            raise
        kube.request_sync("PUT", f"{rbac}/clusterroles/{name}", body=role)
    binding = f"{name}-{namespace}"
    kube.request_sync(
        "POST",
        f"{rbac}/clusterrolebindings",
        body=_binding("ClusterRoleBinding", binding, "ClusterRole", name, service_account, namespace),
    )
    return binding


def install_role(api: ApiClient, role: dict[str, Any], *, service_account: str, namespace: str) -> None:
    """A namespaced Role (a manifest, such as a component's RBAC single source) in `namespace`, bound to
    the ServiceAccount `service_account` there (created here). Both go with the namespace."""
    kube = RawKube(api)
    name = role["metadata"]["name"]
    rbac = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}"
    kube.request_sync(
        "POST",
        f"/api/v1/namespaces/{namespace}/serviceaccounts",
        body={"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": service_account}},
    )
    kube.request_sync(
        "POST", f"{rbac}/roles", body={**role, "metadata": {**role["metadata"], "namespace": namespace}}
    )
    kube.request_sync(
        "POST",
        f"{rbac}/rolebindings",
        body=_binding("RoleBinding", name, "Role", name, service_account, namespace),
    )


def _binding(
    kind: str, name: str, role_kind: str, role: str, service_account: str, namespace: str
) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": service_account, "namespace": namespace}],
    }


def service_account_kubeconfig(
    api: ApiClient, *, server: str, ca_cert: Path, namespace: str, name: str, path: Path
) -> Path:
    """A kubeconfig that authenticates as `namespace/name` with a token from the TokenRequest API:
    exactly what a pod of that ServiceAccount would present."""
    request = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"expirationSeconds": 3600},
    }
    answer = RawKube(api).request_sync(
        "POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token", body=request
    )
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "drawnet-test",
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(ca_cert.read_bytes()).decode(),
                },
            }
        ],
        "users": [{"name": name, "user": {"token": answer["status"]["token"]}}],
        "contexts": [
            {"name": "sa", "context": {"cluster": "drawnet-test", "user": name, "namespace": namespace}}
        ],
        "current-context": "sa",
    }
    path.write_text(json.dumps(config), encoding="utf-8")
    path.chmod(0o600)
    return path


_FORBIDDEN = re.compile(r"Forbidden|(?<![\w-])403(?![\w-])")


class RawKube(Kube):
    """Plain-JSON requests to the API server, blocking (tests and benches check dicts, not models)."""

    def __init__(self, api: ApiClient) -> None:
        super().__init__(api, workers=1)

    def find(self, api_version: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """An object, or None when it does not exist."""
        try:
            return self.request_sync("GET", f"{collection_path(api_version, kind, namespace)}/{name}")
        except KubeError as error:
            if error.not_found:
                return None
            raise

    def admit_ingress(self, namespace: str, name: str, *, address: str = "198.18.0.10") -> None:
        """What an ingress controller does once it serves an Ingress (none runs on KWOK): its address in
        `status.loadBalancer.ingress`, which the operator waits for before a session is Exposed."""
        wait_until(
            lambda: self.find("networking.k8s.io/v1", "Ingress", namespace, name),
            timeout=30,
            what=f"Ingress {namespace}/{name}",
        )
        self.request_sync(
            "PATCH",
            f"{collection_path('networking.k8s.io/v1', 'Ingress', namespace)}/{name}/status",
            body={"status": {"loadBalancer": {"ingress": [{"ip": address}]}}},
            content_type=MERGE_PATCH,
        )

    def limit_pods(self, namespace: str, pods: int, *, name: str = "pods") -> str:
        """A ResourceQuota allowing `pods` pods in the namespace (the API server refuses more); its name."""
        quota = {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": {"name": name},
            "spec": {"hard": {"pods": str(pods)}},
        }
        self.request_sync("POST", f"/api/v1/namespaces/{namespace}/resourcequotas", body=quota)
        return name

    def list(
        self, api_version: str, kind: str, namespace: str, *, selector: str = ""
    ) -> list[dict[str, Any]]:
        query = {"labelSelector": selector} if selector else None
        items: list[dict[str, Any]] = self.request_sync(
            "GET", collection_path(api_version, kind, namespace), query=query
        )["items"]
        return items


class OperatorProcess:
    """`python -m drawnet.operator` against `kubeconfig`, settings from `env` (`DRAWNET_OPERATOR_*`).

    Started on enter, ready once kopf's liveness endpoint answers; stopped (SIGTERM) on exit.
    """

    def __init__(self, kubeconfig: Path, *, log_path: Path, env: dict[str, str] | None = None) -> None:
        self.liveness_port = free_port()
        self.metrics_port = free_port()
        self.log_path = log_path
        environment = {
            "KUBECONFIG": str(kubeconfig),
            "DRAWNET_OPERATOR_LIVENESS_PORT": str(self.liveness_port),
            "DRAWNET_OPERATOR_METRICS_PORT": str(self.metrics_port),
            **(env or {}),
        }
        command = python_module("drawnet.operator")
        self.process = Supervised("operator", command, log_path=log_path, env=environment)

    def start(self, timeout: float = 60.0) -> Self:
        began = time.monotonic()
        self.process.start()
        self.process.wait_http_ok(f"http://127.0.0.1:{self.liveness_port}/healthz", timeout=timeout)
        self.startup_seconds = time.monotonic() - began
        return self

    def stop(self) -> int | None:
        return self.process.stop()

    def kill(self) -> None:
        self.process.kill()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def permission_errors(self) -> list[str]:
        """The log lines where the API server refused the operator something (HTTP 403 / Forbidden).

        A 403 counts only as a whole number: test namespaces are random hex and may contain `403`.
        """
        return [line for line in self.log().splitlines() if _FORBIDDEN.search(line)]

    def metrics(self) -> dict[str, float]:
        """Every sample of its /metrics, keyed `name{label="value",...}` (labels sorted), or bare `name`."""
        text = httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).text
        samples: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
                samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
        return samples

    def rss_bytes(self) -> int:
        """Resident memory of the process now (Linux /proc)."""
        status = Path(f"/proc/{self.process.pid}/status").read_text(encoding="ascii")
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used (Linux /proc)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks


class DrawingSessions:
    """DrawingSessions of one namespace through the API server, as plain dicts."""

    def __init__(self, api: ApiClient, namespace: str) -> None:
        self.namespace = namespace
        self.kube = RawKube(api)
        self._collection = collection_path(API_VERSION, KIND, namespace)

    @staticmethod
    def manifest(name: str, spec: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": name}, "spec": spec or {}}

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create one; KubeError (422 with the API server's message) when the spec is invalid."""
        return self.kube.request_sync("POST", self._collection, body=body)

    def get(self, name: str) -> dict[str, Any]:
        return self.kube.request_sync("GET", f"{self._collection}/{name}")

    def find(self, name: str) -> dict[str, Any] | None:
        """The session, or None when it does not exist (any more)."""
        return self.kube.find(API_VERSION, KIND, self.namespace, name)

    def list(self) -> list[dict[str, Any]]:
        return self.kube.list(API_VERSION, KIND, self.namespace)

    def patch_spec(self, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        return self.kube.request_sync(
            "PATCH", f"{self._collection}/{name}", body={"spec": spec}, content_type=MERGE_PATCH
        )

    def delete(self, name: str) -> None:
        try:
            self.kube.request_sync("DELETE", f"{self._collection}/{name}")
        except KubeError as error:
            if not error.not_found:
                raise

    def drop_finalizers(self, name: str) -> None:
        """Let a session go without an operator (test clean-up when none runs any more)."""
        try:
            self.kube.request_sync(
                "PATCH",
                f"{self._collection}/{name}",
                body={"metadata": {"finalizers": None}},
                content_type=MERGE_PATCH,
            )
        except KubeError as error:
            if not error.not_found:
                raise

    def condition(self, name: str, kind: str) -> dict[str, Any] | None:
        session = self.find(name)
        for condition in ((session or {}).get("status") or {}).get("conditions") or []:
            if condition.get("type") == kind:
                found: dict[str, Any] = condition
                return found
        return None

    def wait_for_condition(
        self, name: str, kind: str, status: str = "True", *, reason: str | None = None, timeout: float = 60.0
    ) -> dict[str, Any]:
        """Wait until the session's condition `kind` has `status` (and `reason`); returns the session."""

        def holds() -> dict[str, Any] | None:
            session = self.get(name)
            generation = session["metadata"].get("generation")
            for condition in (session.get("status") or {}).get("conditions") or []:
                if (
                    condition.get("type") == kind
                    and condition.get("status") == status
                    and (reason is None or condition.get("reason") == reason)
                    and condition.get("observedGeneration") == generation
                ):
                    return session
            return None

        wanted = f"{kind}={status}" + (f" ({reason})" if reason else "")
        return wait_until(
            holds,
            timeout=timeout,
            what=f"DrawingSession {self.namespace}/{name} {wanted}",
            details=lambda: json.dumps((self.find(name) or {}).get("status"), indent=1),
        )

    def wait_gone(self, name: str, *, timeout: float = 60.0) -> None:
        wait_until(
            lambda: self.find(name) is None,
            timeout=timeout,
            what=f"DrawingSession {self.namespace}/{name} deleted",
            details=lambda: json.dumps(self.find(name), indent=1),
        )
