"""The operator's Prometheus metrics: sessions by phase and condition, reconciles (count, errors,
duration) by trigger, time from creation to Ready, heartbeats and what they cost the API server."""

from __future__ import annotations

import time
from collections import Counter as Tally
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

Key = tuple[str, str]


class _SessionsCollector(Collector):
    """Counts the sessions the operator knows, by phase and by condition status, at scrape time."""

    def __init__(self) -> None:
        self.statuses: dict[Key, Mapping[str, Any]] = {}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        phases: Tally[str] = Tally()
        conditions: Tally[tuple[str, str]] = Tally()
        for status in list(self.statuses.values()):
            phases[str(status.get("phase") or "Unknown")] += 1
            for condition in status.get("conditions") or []:
                conditions[(str(condition.get("type")), str(condition.get("status")))] += 1
        by_phase = GaugeMetricFamily(
            "drawnet_operator_sessions", "DrawingSessions the operator serves, by phase", labels=["phase"]
        )
        for phase in ("Pending", "Running", "Recovering", "Ended", "Failed", "Terminating"):
            by_phase.add_metric([phase], phases.get(phase, 0))
        yield by_phase
        by_condition = GaugeMetricFamily(
            "drawnet_operator_session_conditions",
            "DrawingSessions by condition type and status",
            labels=["type", "status"],
        )
        for (kind, value), count in sorted(conditions.items()):
            by_condition.add_metric([kind, value], count)
        yield by_condition


class OperatorMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.sessions = _SessionsCollector()
        self.registry.register(self.sessions)
        self.reconciles = Counter(
            "drawnet_operator_reconciles",
            "Reconciles of a session, by what triggered them",
            ["trigger"],
            registry=self.registry,
        )
        self.reconcile_errors = Counter(
            "drawnet_operator_reconcile_errors",
            "Reconciles that failed, by trigger and error kind",
            ["trigger", "error"],
            registry=self.registry,
        )
        self.reconcile_seconds = Histogram(
            "drawnet_operator_reconcile_duration_seconds",
            "Time one reconcile takes (API calls included)",
            ["trigger"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.time_to_ready = Histogram(
            "drawnet_operator_time_to_ready_seconds",
            "From a session's creation to its first Ready",
            buckets=(0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60, 90, 120, 300),
            registry=self.registry,
        )
        self.pod_replacements = Counter(
            "drawnet_operator_room_pods_replaced",
            "Room pods the operator replaced, by reason (lost, failed, spec-changed)",
            ["reason"],
            registry=self.registry,
        )
        self.status_patches = Counter(
            "drawnet_operator_status_patches",
            "Status patches sent, by trigger (unchanged statuses are not sent)",
            ["trigger"],
            registry=self.registry,
        )
        self.heartbeats = Counter(
            "drawnet_operator_heartbeats_received", "Room heartbeats received", registry=self.registry
        )
        self.archives = Counter(
            "drawnet_operator_archives",
            "Archive calls to the drawing service on delete, by result",
            ["result"],
            registry=self.registry,
        )
        self.ended = Counter(
            "drawnet_operator_sessions_ended",
            "Sessions ended by the idle policy, by action (Stop, Delete)",
            ["action"],
            registry=self.registry,
        )

    @contextmanager
    def reconciling(self, trigger: str) -> Iterator[None]:
        began = time.perf_counter()
        self.reconciles.labels(trigger).inc()
        try:
            yield
        except Exception as error:
            self.reconcile_errors.labels(trigger, type(error).__name__).inc()
            raise
        finally:
            self.reconcile_seconds.labels(trigger).observe(time.perf_counter() - began)
