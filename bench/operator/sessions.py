"""bench/operator: many DrawingSessions created at once on a KWOK node; how long until every one is Ready,
and what the operator costs meanwhile (CPU, memory) and afterwards (one resync cycle at rest).

    .venv/bin/python bench/operator/sessions.py                 # 1,000 sessions
    .venv/bin/python bench/operator/sessions.py --sessions 200  # quicker

A fresh control plane (tools/k8s binaries; KWOK plays the kubelet, so "Ready" is the pod's Ready condition
set by KWOK, not a room's /readyz), the CRD from the operator's source, one `python -m drawnet.operator`
serving every namespace with its default settings. Sessions are created by 16 threads as fast as the API
server takes them; the clock starts before the first create. Prints a Markdown table; writes everything
to bench/results/operator-<time>.json (not committed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from kubernetes import client, watch
from kubernetes.client import ApiClient

from drawnet.operator.resource import GROUP, PLURAL, VERSION
from drawnet.testkit.kube import ControlPlane
from drawnet.testkit.operator import DrawingSessions, OperatorProcess, install_crd

RESULTS = Path(__file__).resolve().parents[1] / "results"


class Sampler(threading.Thread):
    """The operator's RSS and CPU time every `interval` seconds."""

    def __init__(self, operator: OperatorProcess, interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.operator = operator
        self.interval = interval
        self.samples: list[tuple[float, float, int]] = []  # (monotonic, cpu seconds, rss bytes)
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.samples.append(
                    (time.monotonic(), self.operator.cpu_seconds(), self.operator.rss_bytes())
                )
            except OSError:
                return
            self.stopping.wait(self.interval)

    def cpu_between(self, start: float, end: float) -> float:
        inside = [s for s in self.samples if start <= s[0] <= end]
        return inside[-1][1] - inside[0][1] if len(inside) > 1 else 0.0

    def peak_rss(self, start: float = 0.0, end: float = float("inf")) -> int:
        return max((s[2] for s in self.samples if start <= s[0] <= end), default=0)


def _ready(session: dict[str, Any]) -> bool:
    conditions = (session.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def _watch_ready(
    api: ApiClient, namespace: str, count: int, ready_at: dict[str, float], timeout: float
) -> None:
    """Record when each session of `namespace` is first seen Ready, until `count` are."""
    objects = client.CustomObjectsApi(api)
    deadline = time.monotonic() + timeout
    while len(ready_at) < count and time.monotonic() < deadline:
        stream = watch.Watch().stream(
            objects.list_namespaced_custom_object,
            GROUP,
            VERSION,
            namespace,
            PLURAL,
            timeout_seconds=max(1, int(deadline - time.monotonic())),
        )
        for event in stream:
            session = event["object"]
            name = session["metadata"]["name"]
            if name not in ready_at and _ready(session):
                ready_at[name] = time.monotonic()
                if len(ready_at) >= count:
                    return


def _api_requests(api: ApiClient) -> dict[str, float]:
    """The API server's `apiserver_request_total`, summed by verb and resource (every client)."""
    response = api.call_api("GET", f"{api.configuration.host}/metrics")
    body: bytes = response.read()  # type: ignore[no-untyped-call]
    totals: dict[str, float] = {}
    for line in body.decode().splitlines():
        if not line.startswith("apiserver_request_total{"):
            continue
        labels_text, _, value = line[len("apiserver_request_total{") :].rpartition("} ")
        labels = dict(part.split("=", 1) for part in labels_text.replace('"', "").split(",") if "=" in part)
        key = f"{labels.get('verb', '?')} {labels.get('resource', '?')}"
        if labels.get("subresource"):
            key += "/" + labels["subresource"]
        totals[key] = totals.get(key, 0.0) + float(value)
    return totals


def _stages(pods: list[dict[str, Any]], began_wall: float) -> dict[str, dict[str, float]]:
    """When (seconds after the first create, 1 s resolution) the room pods were created, scheduled and
    Ready: which stage of the pipeline the burst waits in."""
    at: dict[str, list[float]] = {"created": [], "scheduled": [], "ready": []}
    for pod in pods:
        created = dt.datetime.fromisoformat(pod["metadata"]["creationTimestamp"])
        at["created"].append(created.timestamp() - began_wall)
        for condition in (pod.get("status") or {}).get("conditions") or []:
            stage = {"PodScheduled": "scheduled", "Ready": "ready"}.get(condition["type"])
            if stage and condition["status"] == "True" and condition.get("lastTransitionTime"):
                moment = dt.datetime.fromisoformat(condition["lastTransitionTime"])
                at[stage].append(moment.timestamp() - began_wall)
    return {
        stage: {"p50": round(statistics.median(v), 1), "last": round(max(v), 1)}
        for stage, v in at.items()
        if v
    }


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run(
    sessions: int, creators: int, timeout: float, rest_seconds: float, logs: Path, settings: dict[str, str]
) -> dict[str, Any]:
    report: dict[str, Any] = {
        "sessions": sessions,
        "creators": creators,
        "cpus": os.cpu_count(),
        "settings": settings,
    }
    with ControlPlane(start_timeout=120) as plane:
        report["control_plane_start_seconds"] = round(plane.startup_seconds or 0, 1)
        with plane.api_client() as api:
            install_crd(api)
            namespace = plane.create_namespace()
            drawing_sessions = DrawingSessions(api, namespace)
            operator = OperatorProcess(plane.kubeconfig, log_path=logs / "operator.log", env=settings).start()
            report["operator_start_seconds"] = round(operator.startup_seconds, 1)
            sampler = Sampler(operator)
            sampler.start()
            idle_rss = operator.rss_bytes()

            names = [f"bench-{i:05d}" for i in range(sessions)]
            created_at: dict[str, float] = {}
            requests_before = _api_requests(api)
            began_wall = time.time()
            began = time.monotonic()

            def create(name: str) -> None:
                drawing_sessions.create(DrawingSessions.manifest(name))
                created_at[name] = time.monotonic()

            # The thread pool creates; a watch (not repeated lists of a thousand objects, which would load
            # the API server more than the operator does) notes when each session turns Ready.
            ready_at: dict[str, float] = {}
            watcher = threading.Thread(
                target=_watch_ready, args=(api, namespace, sessions, ready_at, timeout), daemon=True
            )
            watcher.start()
            with ThreadPoolExecutor(max_workers=creators) as pool:
                for future in [pool.submit(create, name) for name in names]:
                    future.result()
            watcher.join(timeout)
            if len(ready_at) < sessions:
                raise TimeoutError(f"only {len(ready_at)} of {sessions} Ready after {timeout:.0f}s")
            all_ready = max(ready_at.values())
            all_created = max(created_at.values())
            requests = {k: v - requests_before.get(k, 0.0) for k, v in sorted(_api_requests(api).items())}
            pods = drawing_sessions.kube.list("v1", "Pod", namespace)
            per_session = [ready_at[name] - created_at[name] for name in names]
            report.update(
                {
                    "create_all_seconds": round(all_created - began, 1),
                    "all_ready_seconds": round(all_ready - began, 1),
                    "time_to_ready_p50_seconds": round(statistics.median(per_session), 1),
                    "time_to_ready_p95_seconds": round(_percentile(per_session, 0.95), 1),
                    "time_to_ready_max_seconds": round(max(per_session), 1),
                    "operator_cpu_seconds_until_all_ready": round(sampler.cpu_between(began, all_ready), 1),
                    "operator_rss_idle_mb": round(idle_rss / 2**20, 1),
                    "operator_rss_peak_mb": round(sampler.peak_rss(began, all_ready) / 2**20, 1),
                    "room_pod_stages_seconds": _stages(pods, began_wall),
                    "api_requests_until_all_ready": {k: int(v) for k, v in requests.items() if v >= 1},
                }
            )
            # At rest: nothing changes, the resync timer reconciles every session once per cycle.
            rest_began = time.monotonic()
            time.sleep(rest_seconds)
            rest_ended = time.monotonic()
            sampler.stopping.set()
            sampler.join()
            metrics = operator.metrics()
            report.update(
                {
                    "rest_seconds": rest_seconds,
                    "operator_cpu_percent_at_rest": round(
                        100 * sampler.cpu_between(rest_began, rest_ended) / (rest_ended - rest_began), 1
                    ),
                    "operator_rss_at_rest_mb": round(sampler.peak_rss(rest_began, rest_ended) / 2**20, 1),
                    "room_pods": len(drawing_sessions.kube.list("v1", "Pod", namespace)),
                    "reconciles": {
                        k: v for k, v in metrics.items() if k.startswith("drawnet_operator_reconciles_total")
                    },
                    "status_patches": {
                        k: v
                        for k, v in metrics.items()
                        if k.startswith("drawnet_operator_status_patches_total")
                    },
                    "reconcile_errors": {
                        k: v
                        for k, v in metrics.items()
                        if k.startswith("drawnet_operator_reconcile_errors_total")
                    },
                }
            )
            operator.stop()
    return report


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - git from PATH, as a developer runs it
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--creators", type=int, default=16, help="threads creating sessions")
    parser.add_argument("--timeout", type=float, default=300, help="give up after this many seconds")
    parser.add_argument("--rest", type=float, default=35, help="seconds at rest (one 30 s resync cycle)")
    parser.add_argument("--logs", type=Path, help="keep the operator's log here")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="an operator setting (api_workers=32 is DRAWNET_OPERATOR_API_WORKERS); repeat for more",
    )
    args = parser.parse_args()

    logs = args.logs or Path(tempfile.mkdtemp(prefix="drawnet-bench-operator-"))
    logs.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    settings = {f"DRAWNET_OPERATOR_{k.upper()}": v for k, _, v in (item.partition("=") for item in args.set)}
    measured = run(args.sessions, args.creators, args.timeout, args.rest, logs, settings)
    report = {"commit": _commit(), "when": stamp, **measured}
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"operator-{stamp}.json"
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")

    rows = [
        ("sessions created at once", f"{report['sessions']:,} by {report['creators']} threads"),
        ("all created after", f"{report['create_all_seconds']} s"),
        ("**all Ready after**", f"**{report['all_ready_seconds']} s**"),
        (
            "creation to Ready, per session",
            (
                f"p50 {report['time_to_ready_p50_seconds']} s, p95 {report['time_to_ready_p95_seconds']} s, "
                f"max {report['time_to_ready_max_seconds']} s"
            ),
        ),
        ("operator CPU until all Ready", f"{report['operator_cpu_seconds_until_all_ready']} s"),
        (
            "**operator RSS, peak**",
            f"**{report['operator_rss_peak_mb']} MB** (idle before: {report['operator_rss_idle_mb']} MB)",
        ),
        (
            f"operator at rest ({report['rest_seconds']:g} s: one resync of every session)",
            f"{report['operator_cpu_percent_at_rest']} % of a core, {report['operator_rss_at_rest_mb']} MB",
        ),
        ("room pods", f"{report['room_pods']:,}"),
        (
            "room pods created / scheduled / Ready (s after the first create, p50 and last)",
            " / ".join(f"{v['p50']}, {v['last']}" for v in report["room_pod_stages_seconds"].values()),
        ),
        (
            "API requests until all Ready, per session",
            ", ".join(
                f"{k} {v / report['sessions']:.1f}"
                for k, v in report["api_requests_until_all_ready"].items()
                if v >= report["sessions"] / 2
            ),
        ),
    ]
    print(f"bench/operator/sessions.py, commit {report['commit']}, {report['cpus']} CPUs, {stamp}\n")
    print("| measure | value |\n| --- | --- |")
    for measure, value in rows:
        print(f"| {measure} | {value} |")
    print(f"\n(everything: {out}; operator log: {logs / 'operator.log'})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
