"""A real Prometheus server (Debian's package) for tests, scraping with the configuration the chart implies.

The chart's ServiceMonitors and PodMonitor become Prometheus scrape configurations the way the Prometheus
Operator writes them: its own relabelings (namespace, pod, service from Kubernetes' service discovery)
followed by ours (the fixed job, the session label). Loopback targets stand in for the pods; the labels
Kubernetes' service discovery would attach (`__meta_kubernetes_*`) are given as static labels, so our
relabelings run on the same inputs as in a cluster.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import httpx
import yaml

from drawnet.embedded.components import free_port
from drawnet.embedded.processes import Supervised
from drawnet.testkit.kube import wait_until


@dataclass
class Target:
    """A loopback endpoint standing in for a pod, with what Kubernetes' service discovery says of it."""

    address: str
    namespace: str
    pod: str
    pod_labels: dict[str, str] = field(default_factory=dict)
    service: str = ""


def _snake(key: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), key)


def _meta_label(label: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_]", "_", label)


def scrape_config(monitor: dict[str, Any], targets: list[Target], *, interval: str) -> dict[str, Any]:
    """The scrape configuration of a rendered ServiceMonitor or PodMonitor's first endpoint."""
    spec = monitor["spec"]
    (endpoint,) = spec.get("endpoints") or spec.get("podMetricsEndpoints")
    static = []
    for target in targets:
        labels = {
            "__meta_kubernetes_namespace": target.namespace,
            "__meta_kubernetes_pod_name": target.pod,
            **{f"__meta_kubernetes_pod_label_{_meta_label(k)}": v for k, v in target.pod_labels.items()},
        }
        if target.service:
            labels["__meta_kubernetes_service_name"] = target.service
        static.append({"targets": [target.address], "labels": labels})
    # What the Prometheus Operator puts before the monitor's own relabelings.
    relabel: list[dict[str, Any]] = [
        {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
        {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
    ]
    if monitor["kind"] == "ServiceMonitor":
        relabel.append({"source_labels": ["__meta_kubernetes_service_name"], "target_label": "service"})
        relabel.append({"source_labels": ["__meta_kubernetes_service_name"], "target_label": "job"})
    else:
        relabel.append({"target_label": "job", "replacement": f"{monitor['metadata']['name']}"})
    relabel += [{_snake(k): v for k, v in item.items()} for item in endpoint.get("relabelings", [])]
    return {
        "job_name": f"{monitor['kind'].lower()}/{monitor['metadata']['name']}",
        "metrics_path": endpoint.get("path", "/metrics"),
        "scrape_interval": interval,
        "static_configs": static,
        "relabel_configs": relabel,
    }


class PrometheusServer:
    """`prometheus` on a loopback port, with the given scrape configurations and rule files."""

    def __init__(
        self,
        binary: Path,
        directory: Path,
        scrape_configs: list[dict[str, Any]],
        *,
        rules: dict[str, Any] | None = None,
        interval: str = "1s",
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        directory.mkdir(parents=True, exist_ok=True)
        config: dict[str, Any] = {
            "global": {"scrape_interval": interval, "evaluation_interval": interval},
            "scrape_configs": scrape_configs,
        }
        if rules is not None:
            (directory / "rules.yaml").write_text(yaml.safe_dump(rules), encoding="utf-8")
            config["rule_files"] = [str(directory / "rules.yaml")]
        (directory / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
        command = [
            str(binary),
            f"--config.file={directory / 'prometheus.yml'}",
            f"--storage.tsdb.path={directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=warn",
        ]
        self.process = Supervised("prometheus", command, log_path=directory / "prometheus.log")

    def start(self, timeout: float = 30.0) -> Self:
        self.process.start()
        self.process.wait_http_ok(f"{self.url}/-/ready", timeout=timeout)
        return self

    def stop(self) -> None:
        self.process.stop()

    def api(self, path: str, **params: str) -> Any:
        answer = httpx.get(f"{self.url}/api/v1/{path}", params=params, timeout=10).json()
        assert answer["status"] == "success", answer
        return answer["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result: a list of series (raises with Prometheus' error when it fails)."""
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10).json()
        if response["status"] != "success":
            raise AssertionError(f"{expr}: {response.get('errorType')}: {response.get('error')}")
        result: list[dict[str, Any]] = response["data"]["result"]
        return result

    def wait_for(self, expr: str, *, timeout: float = 60.0) -> list[dict[str, Any]]:
        """Wait until an instant query returns series."""
        return wait_until(lambda: self.query(expr), timeout=timeout, what=f"series for {expr}")
