"""Drawnet on a real one-node Kubernetes cluster on this machine: the node (drawnet.testkit.node), the
images built from images/ (tools/images/build.sh) imported into it, and the chart installed with helm
behind the node's ingress controller.

The real-node tests share one of these per test session; ``make cluster`` runs one for people::

    python -m drawnet.testkit.cluster up     # build what is missing, start, install, print the URL
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drawnet.testkit.kube import ControlPlaneError, tool_path, wait_until
from drawnet.testkit.node import INGRESS_CLASS, INGRESS_HOST, POD_SUBNET, RealNode, find_node_binaries
from drawnet.testkit.operator import DrawingSessions, RawKube

if TYPE_CHECKING:
    from collections.abc import Sequence

    from kubernetes.client import ApiClient

__all__ = ["BuiltImage", "Drawnet", "built_images", "chart_values", "merged", "pod_exec"]

RELEASE = "drawnet"
NAMESPACE = "drawnet"
_ROOT = Path(__file__).resolve().parents[4]
CHART = _ROOT / "charts" / "drawnet"
IMAGES_SCRIPT = _ROOT / "tools" / "images" / "build.sh"
# The components the chart runs, by the label the chart gives their pods.
COMPONENTS = ("nats", "postgresql", "drawing", "persister", "operator")


class ImagesMissingError(ControlPlaneError):
    """tools/images/build.sh has not built the images (the message says how)."""


@dataclass(frozen=True)
class BuiltImage:
    name: str  # room, drawing, operator, nats, postgresql, pause
    reference: str  # drawnet.local/<name>:<content digest>
    tarball: Path

    @property
    def repository(self) -> str:
        return self.reference.rsplit(":", 1)[0]

    @property
    def tag(self) -> str:
        return self.reference.rsplit(":", 1)[1]


def built_images(*, build: bool = False) -> dict[str, BuiltImage]:
    """What tools/images/build.sh built (``--print``: one ``name reference tarball`` line each)."""
    if build:
        subprocess.run(["bash", str(IMAGES_SCRIPT)], check=True, stdout=subprocess.DEVNULL)
    result = subprocess.run(
        ["bash", str(IMAGES_SCRIPT), "--print"], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise ImagesMissingError(
            f"the images are not built: run {IMAGES_SCRIPT}\n{result.stdout}{result.stderr}".strip()
        )
    images = {}
    for line in result.stdout.splitlines():
        name, reference, tarball = line.split()
        images[name] = BuiltImage(name, reference, Path(tarball))
    return images


def chart_values(images: dict[str, BuiltImage], host: str = INGRESS_HOST) -> dict[str, Any]:
    """The chart's values on the node: our images, the node's ingress on plain HTTP, and its pod network
    as the proxies whose X-Forwarded-For names the client (Traefik reaches the pods from the bridge's
    address in it; 198.18.0.0/15 is none of the chart's default private ranges)."""
    return {
        "images": {
            name: {"repository": images[name].repository, "tag": images[name].tag}
            for name in ("operator", "drawing", "room", "nats", "postgresql")
        },
        "imagePullPolicy": "IfNotPresent",  # imported into containerd: no registry is ever asked
        "public": {"host": host, "tls": False, "trustedProxies": [POD_SUBNET]},
        "ingress": {"enabled": True, "className": INGRESS_CLASS},
        # Every browser of the tests reaches the ingress from this machine: one client address, like a
        # whole office behind one NAT. Its per-address budgets (guest join tokens, open boards) are sized
        # for that, or a rolling upgrade's reconnects use them up for the tests that follow.
        "drawing": {"settings": {"guest_joins_per_minute": 600, "open_boards_per_address_per_hour": 600}},
    }


@dataclass
class Drawnet:
    """The chart installed on a running real node."""

    node: RealNode
    images: dict[str, BuiltImage]
    namespace: str = NAMESPACE
    release: str = RELEASE
    extra_values: dict[str, Any] = field(default_factory=dict)
    other_namespaces: tuple[str, ...] = ()
    """Namespaces besides the release's whose sessions the platform serves (`operator.namespaces`): made
    (Pod Security restricted too) before the install."""
    install_seconds: float | None = None
    host: str = INGRESS_HOST
    """Its public host (`public.host`), one of the node's INGRESS_HOSTS."""

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def helm(self, *args: str | Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        home = Path(tempfile.gettempdir()) / "drawnet-helm-home"
        env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "KUBECONFIG": str(self.node.kubeconfig)}
        result = subprocess.run(
            [str(tool_path("helm")), *map(str, args)],
            capture_output=True,
            text=True,
            check=False,
            env=env,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise ControlPlaneError(f"helm {' '.join(map(str, args))} failed:\n{result.stderr}")
        return result

    def install(self, *, timeout: float = 300) -> None:
        """``helm install`` into a namespace with Pod Security ``restricted`` enforced; returns once
        every component is Ready by its own probes."""
        with self.node.api_client() as api:
            labels = {"pod-security.kubernetes.io/enforce": "restricted"}
            for namespace in (self.namespace, *self.other_namespaces):
                RawKube(api).request_sync(
                    "POST", "/api/v1/namespaces", body={"metadata": {"name": namespace, "labels": labels}}
                )
        began = time.monotonic()
        self.upgrade(install=True, timeout=timeout)
        self.install_seconds = time.monotonic() - began

    def upgrade(self, *, install: bool = False, timeout: float = 300, **values: Any) -> None:
        """``helm upgrade`` (or install) with the node's values, ``extra_values`` and ``values``, and
        wait until every component is Ready."""
        every = merged(merged(chart_values(self.images, self.host), self.extra_values), values)
        if self.other_namespaces:
            every = merged({"operator": {"namespaces": [self.namespace, *self.other_namespaces]}}, every)
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
            json.dump(every, handle)  # JSON is YAML
        try:
            verb = ["install"] if install else ["upgrade"]
            self.helm(*verb, self.release, CHART, "--namespace", self.namespace, "--values", handle.name)
        finally:
            Path(handle.name).unlink()
        self.wait_ready(timeout=timeout)

    def uninstall(self, *, timeout: float = 180) -> None:
        """Its sessions deleted (the operator archives each and removes its room), ``helm uninstall``,
        then its namespaces deleted with what helm keeps (Secrets, volume claims); not waited for."""
        with self.node.api_client() as api:
            kube = RawKube(api)
            for namespace in (self.namespace, *self.other_namespaces):
                sessions = DrawingSessions(api, namespace)
                names = [item["metadata"]["name"] for item in sessions.list()]
                for name in names:
                    sessions.delete(name)
                for name in names:
                    sessions.wait_gone(name, timeout=timeout)
            self.helm("uninstall", self.release, "--namespace", self.namespace, "--wait", timeout=timeout)
            for namespace in (self.namespace, *self.other_namespaces):
                kube.request_sync("DELETE", f"/api/v1/namespaces/{namespace}")

    def wait_ready(self, *, timeout: float = 300) -> None:
        with self.node.api_client() as api:
            kube = RawKube(api)

            def all_ready() -> bool:
                for component in COMPONENTS:
                    pods = kube.list("v1", "Pod", self.namespace, selector=_component_selector(component))
                    if not pods or not all(_ready(pod) for pod in pods):
                        return False
                return True

            wait_until(
                all_ready,
                timeout=timeout,
                what=f"{', '.join(COMPONENTS)} Ready in {self.namespace}",
                interval=0.5,
                details=lambda: self.describe(kube),
            )

    def describe(self, kube: RawKube) -> str:
        """Each pod of the namespace with its phase, readiness and container states (for failures)."""
        lines = []
        for pod in kube.list("v1", "Pod", self.namespace):
            statuses = pod.get("status", {}).get("containerStatuses", [])
            states = ", ".join(f"{s['name']}: {json.dumps(s.get('state'))}" for s in statuses)
            lines.append(
                f"{pod['metadata']['name']} {pod['status'].get('phase')} ready={_ready(pod)} {states}"
            )
        return "\n".join(lines)


def pod_exec(api: ApiClient, namespace: str, pod: str, command: Sequence[str], *, timeout: float = 30) -> str:
    """Run ``command`` in the pod's first container through the API server and the kubelet (what
    ``kubectl exec`` does); its standard output. Raises when it exits non-zero."""
    from kubernetes import client  # noqa: PLC0415 - the client library is slow to import
    from kubernetes.stream import stream  # noqa: PLC0415

    session = stream(
        client.CoreV1Api(api).connect_get_namespaced_pod_exec,
        pod,
        namespace,
        command=list(command),
        stderr=True,
        stdout=True,
        stdin=False,
        tty=False,
        _preload_content=False,
    )
    try:
        session.run_forever(timeout=timeout)
        output = str(session.read_stdout() or "")
        errors = str(session.read_stderr() or "")
        code = session.returncode
    finally:
        session.close()
        # close() only closes a socket the server has not closed already (as it does once the command
        # exits): shutdown() closes it whatever its state.
        session.sock.shutdown()
    if code != 0:
        raise ControlPlaneError(f"{' '.join(command)} in {namespace}/{pod} exited {code}: {errors.strip()}")
    return output


def _component_selector(component: str) -> str:
    return f"app.kubernetes.io/component={component}"


def _ready(pod: dict[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`base` with `override` merged in, map by map (lists and scalars are replaced), as helm does."""
    result = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result


# --------------------------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m drawnet.testkit.cluster",
        description="Drawnet on a real one-node Kubernetes cluster on this machine (root; no Docker).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the node, install the chart, print the URL, run until Ctrl-C")
    up.add_argument("--no-build", action="store_true", help="do not build missing binaries and images")
    args = parser.parse_args(argv)

    if os.geteuid() != 0:
        sys.stderr.write("error: the real node needs root (network namespaces, mounts, cgroups)\n")
        return 1
    try:
        binaries = find_node_binaries(build=not args.no_build)
        images = built_images(build=not args.no_build)
        node = RealNode(
            images=[image.tarball for image in images.values()],
            sandbox_image=images["pause"].reference,
            binaries=binaries,
        )
        with node:
            drawnet = Drawnet(node, images)
            drawnet.install()
            sys.stdout.write(
                f"Drawnet is up on a real one-node cluster (chart installed in "
                f"{drawnet.install_seconds:.0f}s).\n"
                f"  web app      {drawnet.url}/  (this machine's /etc/hosts maps {INGRESS_HOST})\n"
                f"  kubeconfig   export KUBECONFIG={node.kubeconfig}\n"
                f"  a session    kubectl -n {NAMESPACE} apply -f examples/drawingsession.yaml\n"
                f"  logs         {node.log_dir}\n"
                f"  Ctrl-C stops it and removes everything it made.\n"
            )
            sys.stdout.flush()
            node.run_until_stopped()
    except (ControlPlaneError, TimeoutError, subprocess.CalledProcessError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
