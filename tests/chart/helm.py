"""The chart through the real helm binary (tools/k8s/build.sh builds it): lint, template, and the value sets
every chart test renders."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

from drawnet.testkit.cluster import merged as merged  # noqa: PLC0414 - the chart tests' own name for it
from drawnet.testkit.kube import BinariesMissingError, tool_path
from tests.conftest import missing_dependency

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "drawnet"
RELEASE = "dn"
NAMESPACE = "drawnet"

# The API groups a cluster with the Prometheus Operator and the Gateway API has (`helm template` knows
# only the built-in ones).
API_VERSIONS = ("monitoring.coreos.com/v1", "gateway.networking.k8s.io/v1")

IMAGES: dict[str, Any] = {
    name: {"repository": f"images.example/drawnet/{name}", "tag": "0.1.0"}
    for name in ("operator", "drawing", "room")
}
"""Drawnet publishes no images: every install names the ones it built (`images.example` is no registry)."""

REQUIRED: dict[str, Any] = {
    "images": IMAGES,
    "public": {"host": "draw.example.test", "tls": False},
    "ingress": {"enabled": True},
}
"""The least `helm install` takes: the images, and a way for browsers to reach the rooms."""

_SETS: dict[str, dict[str, Any]] = {
    # What `helm install drawnet charts/drawnet` does with the least it needs: evaluation database, in-chart
    # NATS, an Ingress of the cluster's default class.
    "default": {},
    # Production behind an ingress controller: a managed PostgreSQL, TLS, only the controller may connect.
    "ingress": {
        "public": {
            "host": "draw.example.com",
            "tls": True,
            "trustedProxies": ["10.42.0.0/16", "fd00:42::/56"],
            "allowedOrigins": ["https://intranet.example.com"],
        },
        "ingress": {"enabled": True, "className": "nginx", "tlsSecret": "draw-example-com-tls"},
        "postgresql": {"url": "postgresql://drawnet:secret@db.example.com:5432/drawnet"},
        "networkPolicy": {
            "publicFrom": [
                {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
            ],
            "metricsFrom": [
                {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
            ],
        },
        "monitoring": {"labels": {"release": "kube-prometheus-stack"}, "alertLabels": {"team": "draw"}},
    },
    # The Gateway API instead of an Ingress.
    "gateway": {
        "public": {"host": "draw.example.com", "tls": True},
        "ingress": {"enabled": False},
        "gateway": {"enabled": True, "name": "public", "namespace": "gateways", "sectionName": "https"},
    },
    # A NATS cluster and a database Secret of one's own; the release's and several teams' namespaces; a
    # private registry.
    "external-nats": {
        "nats": {"enabled": False, "externalUrl": "nats://nats.nats.svc.cluster.local:4222"},
        "postgresql": {"existingSecret": {"name": "drawnet-db", "key": "url"}},
        "operator": {"namespaces": [NAMESPACE, "team-a", "team-b"]},
        "imagePullSecrets": ["regcred"],
    },
    # No Prometheus Operator, no NetworkPolicy-enforcing CNI: a bare cluster (kind without extras).
    "monitoring-off": {
        "monitoring": {"serviceMonitors": False, "prometheusRule": False, "dashboards": False},
        "networkPolicy": {"enabled": False},
    },
    # One operator for every namespace, keys and token from Secrets of one's own.
    "cluster-wide": {
        "operator": {"namespaces": ["*"], "settings": {"workers": 100}},
        "secrets": {"existingSigningKeys": "my-keys", "existingServiceToken": "my-token"},
        "drawing": {"settings": {"join_token_ttl_seconds": 1800}},
    },
    # Sessions made through the API stay rows (no DrawingSession, no room of their own), none open.
    "rows-only": {"drawing": {"sessionBackend": "embedded", "openBoards": False}},
    # The highly available shape: NATS as a three-server cluster (the op log on all three), the web app and
    # API three times, a persister with a standby.
    "ha": {"nats": {"replicas": 3}, "drawing": {"replicas": 3, "persister": {"replicas": 2}}},
}


def helm_binary() -> Path:
    """The pinned helm, or a skip (a failure under DRAWNET_REQUIRE_ALL_TIERS=1) when it is not built."""
    try:
        path = tool_path("helm")
    except BinariesMissingError as error:
        missing_dependency(str(error))
    if not path.is_file():
        missing_dependency(f"helm is not built: run tools/k8s/build.sh helm (expected at {path})")
    return path


def helm(
    *args: str | Path, check: bool = True, kubeconfig: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    home = Path(tempfile.gettempdir()) / "drawnet-helm-home"
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin"}
    if kubeconfig is not None:
        env["KUBECONFIG"] = str(kubeconfig)
    result = subprocess.run(
        [str(helm_binary()), *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"helm {' '.join(map(str, args))} failed:\n{result.stderr}")
    return result


def values_file(values: dict[str, Any], directory: Path, name: str = "values") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.yaml"
    path.write_text(json.dumps(values), encoding="utf-8")  # JSON is YAML
    return path


def template(
    values: dict[str, Any],
    directory: Path,
    *,
    namespace: str = NAMESPACE,
    api_versions: tuple[str, ...] = API_VERSIONS,
) -> list[dict[str, Any]]:
    """`helm template` with these values over `REQUIRED` (what every install needs): every rendered object
    (CRDs included), as plain dicts. `template_error` renders values as they are."""
    args: list[str | Path] = ["template", RELEASE, CHART, "--namespace", namespace, "--include-crds"]
    args += ["--values", values_file(merged(REQUIRED, values), directory)]
    for api_version in api_versions:
        args += ["--api-versions", api_version]
    rendered = helm(*args).stdout
    return [doc for doc in yaml.safe_load_all(rendered) if doc]


def template_error(values: dict[str, Any], directory: Path) -> str:
    """What helm says when it refuses these values (fails the test if it renders them)."""
    args: list[str | Path] = ["template", RELEASE, CHART, "--namespace", NAMESPACE]
    args += ["--values", values_file(values, directory)]
    result = helm(*args, check=False)
    assert result.returncode != 0, f"helm rendered values it should refuse: {values}"
    return result.stderr


def find(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]


def one(objects: list[dict[str, Any]], kind: str, name_suffix: str) -> dict[str, Any]:
    """The one object of `kind` whose name ends with `name_suffix`."""
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"].endswith(name_suffix)]
    assert len(found) == 1, (
        f"expected one {kind} *{name_suffix}, found {[o['metadata']['name'] for o in found]}"
    )
    return found[0]


def workloads(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] in {"Deployment", "StatefulSet"}]


def env_of(container: dict[str, Any]) -> dict[str, str]:
    """A container's env as name -> value; values from Secrets become `<secret:name/key>`."""
    env = {}
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
        else:
            ref = item["valueFrom"].get("secretKeyRef") or {}
            env[item["name"]] = f"<secret:{ref.get('name')}/{ref.get('key')}>"
    return env


VALUE_SETS: dict[str, dict[str, Any]] = {name: merged(REQUIRED, values) for name, values in _SETS.items()}
"""Every value set the chart tests render, each with what an install requires."""
