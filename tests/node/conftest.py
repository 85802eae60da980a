"""The real-node tier: one real one-node cluster per test session (drawnet.testkit.node), the images
built from images/ (tools/images/build.sh) imported into its containerd, and the chart installed once
(drawnet.testkit.cluster) for the tests of what people do with it.

Skipped when something it needs is missing (root, the node's binaries, the images), except with
DRAWNET_REQUIRE_ALL_TIERS=1 (CI), where that fails instead. After the session the node is torn down and
the machine is checked for anything it left behind.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from drawnet.testkit.cluster import BuiltImage, Drawnet, ImagesMissingError, built_images
from drawnet.testkit.kube import BinariesMissingError, find_binaries
from drawnet.testkit.node import NodeUnavailableError, RealNode, find_node_binaries, leftovers
from drawnet.testkit.operator import RawKube
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.conftest import playwright as playwright  # noqa: PLC0414 - the fixture, for this tier
from tests.conftest import missing_dependency

if TYPE_CHECKING:
    from collections.abc import Iterator

    from kubernetes.client import ApiClient
    from playwright.sync_api import Browser
    from playwright.sync_api import Playwright as PlaywrightDriver


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """This tier's tests that start real nodes of their own (tests/node/test_lifecycle.py) run before the
    tests that use the session's shared one, whatever their files are called: one real node per machine,
    and the shared one lives until the session ends."""
    here = Path(__file__).parent
    places = [index for index, item in enumerate(items) if item.path.is_relative_to(here)]
    ours = sorted(
        (items[index] for index in places), key=lambda item: "real_node" in getattr(item, "fixturenames", ())
    )
    for index, item in zip(places, ours, strict=True):
        items[index] = item


TEAM_NAMESPACE = "team-a"
"""A namespace besides the release's where a platform team applies sessions (the operator serves it)."""


@pytest.fixture(scope="session")
def images() -> dict[str, BuiltImage]:
    """The images for the current code: built now when they are not (seconds after a code change:
    only the code layer is new)."""
    try:
        return built_images(build=True)
    except (ImagesMissingError, subprocess.CalledProcessError) as exc:
        missing_dependency(str(exc))
        raise


@pytest.fixture(scope="session")
def real_node(images: dict[str, BuiltImage]) -> Iterator[RealNode]:
    if os.geteuid() != 0:
        missing_dependency("the real node needs root")
    try:
        find_binaries()
        binaries = find_node_binaries()
    except (BinariesMissingError, NodeUnavailableError) as exc:
        missing_dependency(str(exc))
        raise
    node = RealNode(
        images=[image.tarball for image in images.values()],
        sandbox_image=images["pause"].reference,
        binaries=binaries,
    )
    with node:
        yield node
    left = leftovers()
    assert not left, "the real node left these behind:\n" + "\n".join(left)


@pytest.fixture(scope="session")
def drawnet(real_node: RealNode, images: dict[str, BuiltImage]) -> Drawnet:
    """The chart installed once on the node (namespace `drawnet`, Pod Security restricted enforced),
    serving the sessions of a team's namespace (`team-a`) too."""
    installed = Drawnet(real_node, images, other_namespaces=(TEAM_NAMESPACE,))
    installed.install()
    return installed


@pytest.fixture
def node_api(real_node: RealNode) -> Iterator[ApiClient]:
    with real_node.api_client() as api:
        yield api


@pytest.fixture
def kube(node_api: ApiClient) -> RawKube:
    return RawKube(node_api)


@pytest.fixture(scope="module")
def browser(playwright: PlaywrightDriver) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()
