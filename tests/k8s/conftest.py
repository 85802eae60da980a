"""The Kubernetes tier: one real control plane (etcd, kube-apiserver, kube-controller-manager,
kube-scheduler, KWOK) per test session, from binaries built by tools/k8s/build.sh.

Skipped when the binaries are not built, except with DRAWNET_REQUIRE_ALL_TIERS=1 (CI), where that
fails instead, so CI can never go green by skipping this tier.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from drawnet.testkit.kube import BinariesMissingError, ControlPlane, find_binaries

if TYPE_CHECKING:
    from collections.abc import Iterator

    from kubernetes.client import ApiClient

REQUIRE_ALL_TIERS = os.environ.get("DRAWNET_REQUIRE_ALL_TIERS") == "1"


@pytest.fixture(scope="session")
def control_plane() -> Iterator[ControlPlane]:
    try:
        binaries = find_binaries()
    except BinariesMissingError as exc:
        if REQUIRE_ALL_TIERS:
            pytest.fail(f"required test dependency missing: {exc}", pytrace=False)
        pytest.skip(str(exc))
    with ControlPlane(binaries=binaries, start_timeout=90) as plane:
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
