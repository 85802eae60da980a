"""The chart's HA shape on the real node (issue 27): a release of its own (namespace `ha`, its own public
host) with NATS as a three-server cluster on real volumes, two API pods, an active persister with a
standby, and a session spread over two room pods. People draw in Chromium through the ingress while the
active persister and a NATS server are killed; nothing acknowledged is lost, and every op is stored once.

The release is removed after the module, before the tier's main release (tests/node/test_platform.py)
is installed, so the two never share the node's two cores.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from drawnet.testkit.cluster import Drawnet
from drawnet.testkit.kube import wait_until
from drawnet.testkit.node import INGRESS_HOSTS
from tests.node.kit import (
    EXAMPLE,
    draw_strokes,
    people_at,
    sessions_of_the_test,
    stored_ops,
    unique,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Browser

    from drawnet.testkit.cluster import BuiltImage
    from drawnet.testkit.node import RealNode
    from drawnet.testkit.operator import RawKube

pytestmark = [pytest.mark.node, pytest.mark.browser, pytest.mark.timeout(900)]

HA_VALUES: dict[str, Any] = {
    "nats": {"replicas": 3},
    "drawing": {"replicas": 2, "persister": {"replicas": 2, "leaseSeconds": 6}},
}
"""docs/deploy.md's HA shape (a shorter Lease than the default 15 s, to keep the test short)."""


@pytest.fixture(scope="module")
def ha(real_node: RealNode, images: dict[str, BuiltImage]) -> Iterator[Drawnet]:
    installed = Drawnet(
        real_node, images, namespace="ha", release="ha", host=INGRESS_HOSTS[1], extra_values=HA_VALUES
    )
    installed.install(timeout=480)
    yield installed
    installed.uninstall()


def _pods(kube: RawKube, namespace: str, selector: str) -> list[dict[str, Any]]:
    pods = kube.list("v1", "Pod", namespace, selector=selector)
    return [p for p in pods if not p["metadata"].get("deletionTimestamp")]


def _ready(pod: dict[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def _lease_holder(kube: RawKube, namespace: str) -> str:
    (lease,) = [
        item
        for item in kube.request_sync("GET", f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases")[
            "items"
        ]
        if item["metadata"]["name"].endswith("-persister")
    ]
    holder: str = lease["spec"].get("holderIdentity") or ""
    return holder


def _kill(kube: RawKube, pod: dict[str, Any]) -> None:
    """Deleted with no grace: its containers get SIGKILL, as when a node or a process dies."""
    meta = pod["metadata"]
    kube.request_sync(
        "DELETE",
        f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}",
        body={"gracePeriodSeconds": 0},
    )


def test_the_ha_shape_loses_no_acknowledged_stroke_when_the_active_persister_and_a_nats_server_die(
    ha: Drawnet, kube: RawKube, browser: Browser
) -> None:
    namespace = ha.namespace
    nats = _pods(kube, namespace, "app.kubernetes.io/component=nats")
    assert len(nats) == 3, [p["metadata"]["name"] for p in nats]
    assert len(_pods(kube, namespace, "app.kubernetes.io/component=drawing")) == 2
    persisters = _pods(kube, namespace, "app.kubernetes.io/component=persister")
    assert len(persisters) == 2
    assert all(_ready(p) for p in persisters)  # the standby is Ready too: it stands by

    with sessions_of_the_test(kube, namespace) as sessions, people_at(browser, ha.url) as person:
        manifest = copy.deepcopy(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")))
        name = manifest["metadata"]["name"] = unique("big")
        manifest["spec"]["room"]["replicas"] = 2
        sessions.create(manifest)
        sessions.wait_for_condition(name, "Ready", timeout=180)
        # One session, two room pods under the real kubelet: the second has a dotted name.
        rooms = _pods(kube, namespace, f"drawnet.dev/session={name}")
        assert sorted(p["metadata"]["name"] for p in rooms) == [f"room-{name}", f"room-{name}.1"]
        wait_until(
            lambda: all(_ready(p) for p in _pods(kube, namespace, f"drawnet.dev/session={name}")),
            timeout=120,
            what="both room replicas Ready",
        )

        ann, bob = person("Ann"), person("Bob")
        ann.open(name)
        bob.open(name)
        draw_strokes(ann, 2)
        draw_strokes(bob, 2, offset=2)
        ann.expect_strokes(4)
        drawn = 4

        holder = _lease_holder(kube, namespace)
        (active,) = [p for p in persisters if holder.startswith(p["metadata"]["name"] + "-")]
        (standby,) = [p for p in persisters if p is not active]
        victim_nats = nats[1]
        _kill(kube, active)
        _kill(kube, victim_nats)

        def recovered() -> bool:
            now = _lease_holder(kube, namespace)
            back = [p for p in _pods(kube, namespace, "app.kubernetes.io/component=nats") if _ready(p)]
            return now.startswith(standby["metadata"]["name"] + "-") and len(back) == 3

        while not recovered():  # people go on drawing through both losses
            draw_strokes(bob if drawn % 2 else ann, 1, offset=drawn)
            drawn += 1
            assert drawn < 200, "the standby never took the Lease, or NATS never came back"
            bob.page.wait_for_timeout(300)
        draw_strokes(ann, 1, offset=drawn)
        drawn += 1

        for someone in (ann, bob):
            someone.expect_connection("live", timeout=60_000)
            someone.expect_settled(timeout=60_000)  # every stroke acknowledged (resent if need be)
        ann.expect_strokes(drawn, timeout=60_000)
        ann.expect_same_board_as(bob)
        # Every acknowledged stroke stored by whichever persister held the Lease: all of them, and no
        # more (an op stored twice would be a second row under another seq).
        wait_until(
            lambda: stored_ops(ha, kube, name) >= drawn,
            timeout=90,
            what=f"{drawn} strokes in PostgreSQL",
            details=lambda: f"stored: {stored_ops(ha, kube, name)}",
        )
        assert stored_ops(ha, kube, name) == drawn
