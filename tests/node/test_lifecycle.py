"""The real node's own life on this machine: a node killed with SIGKILL in the middle of its work leaves
processes, containers, mounts, the bridge and rules behind, and the next node removes all of it and
starts; a clean stop leaves nothing.

Its tests run before the session's shared node starts (tests/node/conftest.py orders them: there is one
real node per machine).
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import pytest

from drawnet.testkit.kube import wait_until
from drawnet.testkit.node import BRIDGE, RealNode, find_node_binaries, leftovers
from drawnet.testkit.operator import RawKube

if TYPE_CHECKING:
    from drawnet.testkit.cluster import BuiltImage

pytestmark = [pytest.mark.node, pytest.mark.timeout(600)]


def _read_until(process: subprocess.Popen[str], marker: str, timeout: float) -> str:
    """Lines of the process's output up to the one that starts with ``marker`` (that one returned)."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 1.0)
        if ready:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                break
            seen.append(line)
            if line.startswith(marker):
                return line
    raise AssertionError(f"no {marker!r} from the node in {timeout:.0f} s:\n{''.join(seen)}")


def test_a_node_killed_mid_work_leaves_nothing_that_stops_the_next_one(
    images: dict[str, BuiltImage],
) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root")  # the conftest's fixtures fail this under CI; this one runs alone
    pause = images["pause"]
    node_process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "drawnet.testkit.node",
            "up",
            f"--image={pause.tarball}",
            f"--sandbox-image={pause.reference}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        kubeconfig = _read_until(node_process, "export KUBECONFIG=", timeout=240).split("=", 1)[1].strip()
        from kubernetes import config  # noqa: PLC0415 - the client library is slow to import

        with config.new_client_from_config(config_file=kubeconfig) as api:  # type: ignore[no-untyped-call]
            kube = RawKube(api)
            pod = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "working"},
                "spec": {
                    "containers": [{"name": "main", "image": pause.reference, "imagePullPolicy": "Never"}]
                },
            }
            kube.request_sync("POST", "/api/v1/namespaces/default/pods", body=pod)
            wait_until(
                lambda: (kube.find("v1", "Pod", "default", "working") or {})["status"]["phase"] == "Running",
                timeout=60,
                what="a pod running on the node",
            )
    finally:
        # Everything at once, as a killed test run: the node's daemons die with it (PDEATHSIG), its
        # containers and their shims do not.
        os.killpg(node_process.pid, signal.SIGKILL)
        node_process.wait()
        if node_process.stdout is not None:
            node_process.stdout.close()

    left = leftovers()
    assert f"interface {BRIDGE}" in left
    assert any(item.startswith("process ") for item in left), left  # the shim and its container
    assert any(item.startswith("mount ") for item in left), left

    with RealNode(
        images=[pause.tarball], sandbox_image=pause.reference, binaries=find_node_binaries()
    ) as node:
        assert node.startup_seconds
    assert leftovers() == []
