"""The real-node tier: one real one-node cluster per test session (drawnet.testkit.node), the images
built from images/ (tools/images/build.sh) imported into its containerd.

Skipped when something it needs is missing (root, the node's binaries, the images), except with
DRAWNET_REQUIRE_ALL_TIERS=1 (CI), where that fails instead. After the session the node is torn down and
the machine is checked for anything it left behind.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from drawnet.testkit.kube import BinariesMissingError, find_binaries
from drawnet.testkit.node import NodeUnavailableError, RealNode, find_node_binaries, leftovers
from tests.conftest import missing_dependency

if TYPE_CHECKING:
    from collections.abc import Iterator

    from kubernetes.client import ApiClient

ROOT = Path(__file__).resolve().parents[2]
IMAGES_SCRIPT = ROOT / "tools" / "images" / "build.sh"


@dataclass(frozen=True)
class BuiltImage:
    name: str  # room, drawing, operator, pause, ...
    reference: str  # drawnet.local/<name>:<content digest>
    tarball: Path

    @property
    def repository(self) -> str:
        return self.reference.rsplit(":", 1)[0]

    @property
    def tag(self) -> str:
        return self.reference.rsplit(":", 1)[1]


def built_images() -> dict[str, BuiltImage]:
    """What tools/images/build.sh built (``--print``: one ``name reference tarball`` line each)."""
    if not IMAGES_SCRIPT.is_file():
        missing_dependency(f"{IMAGES_SCRIPT} is missing")
    result = subprocess.run(
        ["bash", str(IMAGES_SCRIPT), "--print"], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        missing_dependency(f"the images are not built: run {IMAGES_SCRIPT} ({result.stdout}{result.stderr})")
    images = {}
    for line in result.stdout.splitlines():
        name, reference, tarball = line.split()
        images[name] = BuiltImage(name, reference, Path(tarball))
    return images


@pytest.fixture(scope="session")
def images() -> dict[str, BuiltImage]:
    return built_images()


@pytest.fixture(scope="session")
def real_node(images: dict[str, BuiltImage]) -> Iterator[RealNode]:
    if os.geteuid() != 0:
        missing_dependency("the real node needs root")
    try:
        find_binaries()
        binaries = find_node_binaries()
    except (BinariesMissingError, NodeUnavailableError) as exc:
        missing_dependency(str(exc))
    node = RealNode(
        images=[image.tarball for image in images.values()],
        sandbox_image=images["pause"].reference,
        binaries=binaries,
    )
    with node:
        yield node
    left = leftovers()
    assert not left, "the real node left these behind:\n" + "\n".join(left)


@pytest.fixture
def node_api(real_node: RealNode) -> Iterator[ApiClient]:
    with real_node.api_client() as api:
        yield api
