"""The real node itself: what the chart and the operator rely on works on it — pods start from the
imported images, get an address on the node's bridge, resolve cluster names through CoreDNS, reach each
other through Services (kube-proxy), and the API server reaches the kubelet for logs and exec."""

from __future__ import annotations

import ipaddress
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from kubernetes import client

from drawnet.testkit.cluster import pod_exec
from drawnet.testkit.kube import wait_until
from drawnet.testkit.node import BRIDGE_IP, POD_SUBNET
from drawnet.testkit.operator import RawKube

if TYPE_CHECKING:
    from collections.abc import Iterator

    from kubernetes.client import ApiClient

    from drawnet.testkit.cluster import BuiltImage

# The first test also starts the node (and installs the chart): minutes, not seconds.
pytestmark = [pytest.mark.node, pytest.mark.timeout(600)]

RESTRICTED = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "seccompProfile": {"type": "RuntimeDefault"},
}


@pytest.fixture
def namespace(kube: RawKube) -> Iterator[str]:
    """A namespace with Pod Security `restricted` enforced; deleted (pods and all) afterwards."""
    name = f"node-{uuid.uuid4().hex[:8]}"
    labels = {"pod-security.kubernetes.io/enforce": "restricted"}
    kube.request_sync("POST", "/api/v1/namespaces", body={"metadata": {"name": name, "labels": labels}})
    wait_until(
        lambda: kube.request_sync("GET", f"/api/v1/namespaces/{name}/serviceaccounts/default"),
        timeout=30,
        what="the namespace's default ServiceAccount",
    )
    yield name
    kube.request_sync("DELETE", f"/api/v1/namespaces/{name}")


def python_pod(name: str, image: BuiltImage, script: str, **extra: Any) -> dict[str, Any]:
    """A pod that runs ``python -c script`` in one of our images, as the chart runs our containers."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "automountServiceAccountToken": False,
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {
                    "name": "main",
                    "image": image.reference,
                    "imagePullPolicy": "Never",
                    "command": ["/opt/drawnet/bin/python", "-c", script],
                    "securityContext": RESTRICTED,
                    **extra,
                }
            ],
        },
    }


HTTP_SERVER = """
import http.server, socketserver
class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"hello from the node"
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
print("serving", flush=True)
socketserver.TCPServer(("0.0.0.0", 8080), Hello).serve_forever()
"""


def create(kube: RawKube, namespace: str, manifest: dict[str, Any]) -> None:
    plural = {"Pod": "pods", "Service": "services"}[manifest["kind"]]
    kube.request_sync("POST", f"/api/v1/namespaces/{namespace}/{plural}", body=manifest)


def wait_ready(kube: RawKube, namespace: str, name: str, timeout: float = 60) -> dict[str, Any]:
    def ready() -> dict[str, Any] | None:
        pod = kube.find("v1", "Pod", namespace, name) or {}
        conditions = pod.get("status", {}).get("conditions", [])
        return pod if any(c["type"] == "Ready" and c["status"] == "True" for c in conditions) else None

    return wait_until(
        ready,
        timeout=timeout,
        what=f"pod {namespace}/{name} Ready",
        details=lambda: str((kube.find("v1", "Pod", namespace, name) or {}).get("status")),
    )


def pod_log(kube: RawKube, namespace: str, name: str) -> str:
    return str(client.CoreV1Api(kube.api).read_namespaced_pod_log(name, namespace))


def test_a_pod_runs_from_an_imported_image_with_its_probes_and_an_address_on_the_bridge(
    kube: RawKube, node_api: ApiClient, namespace: str, images: dict[str, BuiltImage]
) -> None:
    probe = {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1}
    manifest = python_pod("web", images["room"], HTTP_SERVER, readinessProbe=probe, livenessProbe=probe)
    create(kube, namespace, manifest)
    pod = wait_ready(kube, namespace, "web")

    assert ipaddress.ip_address(pod["status"]["podIP"]) in ipaddress.ip_network(POD_SUBNET)
    assert pod["status"]["hostIP"] == BRIDGE_IP
    # The API server reaches the kubelet: logs and exec.
    assert "serving" in pod_log(kube, namespace, "web")
    output = pod_exec(
        node_api, namespace, "web", ["/opt/drawnet/bin/python", "-c", "import os; print(os.getuid())"]
    )
    assert output.strip() == "10001"


def test_pods_reach_a_service_by_its_cluster_name(
    kube: RawKube, namespace: str, images: dict[str, BuiltImage]
) -> None:
    create(kube, namespace, python_pod("web", images["room"], HTTP_SERVER))
    create(
        kube,
        namespace,
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]},
        },
    )
    wait_ready(kube, namespace, "web")
    url = f"http://web.{namespace}.svc.cluster.local/"
    fetch = (
        "import urllib.request, time\n"
        "for _ in range(100):\n"
        "    try:\n"
        f"        print(urllib.request.urlopen({url!r}, timeout=2).read().decode()); break\n"
        "    except OSError as e:\n"
        "        print('retry', e, flush=True); time.sleep(0.2)\n"
    )
    client_pod = python_pod("client", images["room"], fetch)
    client_pod["spec"]["restartPolicy"] = "Never"
    create(kube, namespace, client_pod)
    wait_until(
        lambda: (
            (kube.find("v1", "Pod", namespace, "client") or {}).get("status", {}).get("phase") == "Succeeded"
        ),
        timeout=60,
        what="the client pod done",
        details=lambda: pod_log(kube, namespace, "client"),
    )
    assert "hello from the node" in pod_log(kube, namespace, "client")
