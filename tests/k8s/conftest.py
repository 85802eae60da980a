"""The Kubernetes tier: one real control plane (etcd, kube-apiserver, kube-controller-manager,
kube-scheduler, KWOK) per test session, from binaries built by tools/k8s/build.sh.

Skipped when the binaries are not built, except with DRAWNET_REQUIRE_ALL_TIERS=1 (CI), where that
fails instead, so CI can never go green by skipping this tier.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from drawnet.testkit.kube import BinariesMissingError, ControlPlane, find_binaries
from drawnet.testkit.operator import DrawingSessions, OperatorProcess, RawKube, install_crd, stages_with_chaos

if TYPE_CHECKING:
    from collections.abc import Iterator

    from kubernetes.client import ApiClient

REQUIRE_ALL_TIERS = os.environ.get("DRAWNET_REQUIRE_ALL_TIERS") == "1"


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    try:
        binaries = find_binaries()
    except BinariesMissingError as exc:
        if REQUIRE_ALL_TIERS:
            pytest.fail(f"required test dependency missing: {exc}", pytrace=False)
        pytest.skip(str(exc))
    # KWOK's default stages plus a chaos stage that fails pods on demand (a label), for recovery tests.
    stages = stages_with_chaos(binaries.kwok_stages, tmp_path_factory.mktemp("kwok"))
    with ControlPlane(binaries=dataclasses.replace(binaries, kwok_stages=stages), start_timeout=90) as plane:
        yield plane


@pytest.fixture
def api(control_plane: ControlPlane) -> Iterator[ApiClient]:
    """An admin (system:masters) API client."""
    with control_plane.api_client() as api_client:
        yield api_client


@pytest.fixture
def namespace(control_plane: ControlPlane, api: ApiClient) -> Iterator[str]:
    """A fresh uuid-named namespace whose default ServiceAccount exists; deleted afterwards."""
    name = control_plane.create_namespace()
    yield name
    with contextlib.suppress(ApiException):
        client.CoreV1Api(api).delete_namespace(name)


# --------------------------------------------------------------------------------------- the operator


@pytest.fixture(scope="session")
def crd(control_plane: ControlPlane) -> dict[str, Any]:
    """The DrawingSession CRD, installed once from the operator's single source."""
    with control_plane.api_client() as api_client:
        return install_crd(api_client)


@pytest.fixture
def kube(api: ApiClient) -> RawKube:
    """Plain-JSON API requests as the admin (objects as dicts)."""
    return RawKube(api)


@pytest.fixture
def sessions(api: ApiClient, namespace: str, crd: dict[str, Any]) -> DrawingSessions:
    """DrawingSessions in this test's namespace (the CRD installed)."""
    assert crd["spec"]["group"] == "drawnet.dev"
    return DrawingSessions(api, namespace)


class StartOperator(Protocol):
    def __call__(self, *, kubeconfig: Path | None = None, **settings: object) -> OperatorProcess: ...


@pytest.fixture
def start_operator(
    control_plane: ControlPlane, sessions: DrawingSessions, namespace: str, tmp_path: Path
) -> Iterator[StartOperator]:
    """Start `python -m drawnet.operator` with settings (`resync_seconds=1`: DRAWNET_OPERATOR_RESYNC_SECONDS).

    By default it serves this test's namespace only, as the admin. At the end, the test's sessions are
    deleted while an operator still runs (their finalizers need it), then every operator stops.
    """
    started: list[OperatorProcess] = []

    def start(*, kubeconfig: Path | None = None, **settings: object) -> OperatorProcess:
        env = {"DRAWNET_OPERATOR_NAMESPACES": namespace, "DRAWNET_OPERATOR_RESYNC_SECONDS": "2"}
        env.update({f"DRAWNET_OPERATOR_{key.upper()}": str(value) for key, value in settings.items()})
        log_path = tmp_path / f"operator-{len(started)}.log"
        operator = OperatorProcess(kubeconfig or control_plane.kubeconfig, log_path=log_path, env=env)
        started.append(operator)
        return operator.start()

    yield start

    running = [operator for operator in started if operator.process.running()]
    for item in sessions.list():
        name = item["metadata"]["name"]
        sessions.delete(name)
        if not running:
            sessions.drop_finalizers(name)
    for item in sessions.list():
        try:
            sessions.wait_gone(item["metadata"]["name"], timeout=30)
        except TimeoutError:
            sessions.drop_finalizers(item["metadata"]["name"])
    for operator in started:
        operator.stop()
        # Shown when the test failed (pytest prints captured output of failures only).
        print(f"--- {operator.log_path} ---\n{operator.log()[-6000:]}")  # noqa: T201
