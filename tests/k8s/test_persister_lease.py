"""The persister's replicas elect one active writer with a Kubernetes Lease, against the real API server:
real drawing-service processes with the persister's RBAC (its single source), a real nats-server and a
real PostgreSQL. Two race and exactly one stores; the active one SIGKILLed with a batch in hand, the
standby takes over and the log is stored once, in order, with nothing lost."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest

from drawnet.drawing.lease import RBAC_PATH
from drawnet.embedded.components import DrawingService, NatsServer
from drawnet.operator.resource import load_yaml_documents
from drawnet.protocol import OPS_STREAM, AddStroke
from drawnet.testkit import eventually_async, holds
from drawnet.testkit.client import line
from drawnet.testkit.kube import ControlPlane
from drawnet.testkit.metrics import metric
from drawnet.testkit.operator import RawKube, install_role, service_account_kubeconfig
from drawnet.testkit.oplog import log_ops
from drawnet.testkit.postgres import PostgresServer

pytestmark = pytest.mark.k8s

LEASE = "drawnet-persister"
ACCOUNT = "drawnet-persister"
START_TIMEOUT = 90.0


@pytest.fixture
def persister_account(control_plane: ControlPlane, kube: RawKube, namespace: str, tmp_path: Path) -> Path:
    (role,) = load_yaml_documents(RBAC_PATH)
    install_role(kube.api, role, service_account=ACCOUNT, namespace=namespace)
    return service_account_kubeconfig(
        kube.api,
        server=control_plane.server,
        ca_cert=control_plane.ca_cert,
        namespace=namespace,
        name=ACCOUNT,
        path=tmp_path / "persister.kubeconfig",
    )


Start = Callable[[str], DrawingService]


@pytest.fixture
def start_persister(
    nats_server: NatsServer,
    postgres_server: PostgresServer,
    persister_account: Path,
    namespace: str,
    tmp_path: Path,
) -> Iterator[Start]:
    database_url = postgres_server.create_database()
    started: list[DrawingService] = []

    def start(name: str) -> DrawingService:
        service = DrawingService(
            nats_url=nats_server.url,
            database_url=database_url,
            log_path=tmp_path / f"{name}.log",
            extra_env={
                "DRAWNET_DRAWING_PERSIST_LEASE": LEASE,
                "DRAWNET_DRAWING_PERSIST_LEASE_SECONDS": "3",
                "DRAWNET_DRAWING_PERSIST_LEASE_RENEW_SECONDS": "1",
                "DRAWNET_DRAWING_KUBECONFIG": str(persister_account),
                "DRAWNET_DRAWING_NAMESPACE": namespace,
                "DRAWNET_DRAWING_PERSIST_BATCH_SIZE": "20",
                "DRAWNET_DRAWING_PERSIST_FETCH_TIMEOUT_SECONDS": "0.2",
                "DRAWNET_DRAWING_PERSIST_RETRY_SECONDS": "0.2",
            },
        ).start(timeout=START_TIMEOUT)
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()


def stroke(i: int) -> AddStroke:
    return AddStroke(id=f"s{i}", tool="pen", color="#1e1e1e", width=3, opacity=1, pts=line(4, y0=i))


def _metrics(service: DrawingService) -> str:
    return httpx.get(f"{service.url}/metrics", timeout=5).text


def active(service: DrawingService) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return metric(_metrics(service), "drawnet_drawing_persister_active") == 1
    return False


def holder(kube: RawKube, namespace: str) -> str:
    lease: dict[str, Any] = kube.request_sync(
        "GET", f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{LEASE}"
    )
    return str(lease["spec"].get("holderIdentity") or "")


async def stored_seqs(http: httpx.AsyncClient, session: str, count: int) -> list[int]:
    async def enough() -> list[int]:
        response = await http.get(f"/api/v1/sessions/{session}/ops", params={"limit": 10_000})
        seqs = [op["seq"] for op in response.json()]
        return seqs if len(seqs) >= count else []

    return await eventually_async(enough, timeout=60, what=f"{count} ops of {session} in SQL")


async def test_two_persisters_race_for_the_lease_and_exactly_one_stores(
    start_persister: Start, nats_server: NatsServer, kube: RawKube, namespace: str
) -> None:
    a, b = start_persister("a"), start_persister("b")
    await eventually_async(holds(lambda: active(a) or active(b)), timeout=30, what="one persister active")
    logged = await log_ops(nats_server.url, "race", [stroke(i) for i in range(200)], namespace=namespace)

    async with httpx.AsyncClient(base_url=a.url, timeout=10) as http:
        assert await stored_seqs(http, "race", 200) == logged
    stored = {
        name: metric(_metrics(s), "drawnet_drawing_ops_persisted_total") for name, s in (("a", a), ("b", b))
    }
    (writer,) = [name for name, count in stored.items() if count > 0]
    assert stored[writer] == 200
    service = a if writer == "a" else b
    assert active(service)
    assert not active(b if writer == "a" else a)
    assert service.process is not None
    assert holder(kube, namespace).endswith(f"-{service.process.pid}")


async def test_the_active_persister_killed_with_a_batch_in_hand_the_standby_stores_the_rest_once(
    start_persister: Start, nats_server: NatsServer, kube: RawKube, namespace: str
) -> None:
    first = start_persister("first")
    await eventually_async(holds(lambda: active(first)), timeout=30, what="the first persister active")
    standby = start_persister("standby")
    assert not active(standby)

    logged: list[int] = []
    stop = asyncio.Event()

    async def keep_logging() -> None:
        i = 0
        while not stop.is_set():
            ops = [stroke(n) for n in range(i, i + 10)]
            logged.extend(await log_ops(nats_server.url, "failover", ops, namespace=namespace))
            i += 10
            await asyncio.sleep(0.02)

    writer = asyncio.create_task(keep_logging())
    try:
        async with httpx.AsyncClient(base_url=standby.url, timeout=10) as http:
            await stored_seqs(http, "failover", 100)
            await eventually_async(
                _batch_in_hand(nats_server.url), timeout=30, what="a batch fetched, not acked"
            )
            assert first.process is not None
            first.process.kill()  # SIGKILL, with a batch in hand
            # How soon: bench/failover/persister.py.
            await eventually_async(holds(lambda: active(standby)), timeout=30, what="the standby takes over")
            count = len(logged)
            await stored_seqs(http, "failover", count + 50)  # the standby stores what comes after, too
            stop.set()
            await writer
            seqs = await stored_seqs(http, "failover", len(logged))
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await writer
    assert seqs == logged  # every op once, in log order
    assert standby.process is not None
    assert holder(kube, namespace).endswith(f"-{standby.process.pid}")


def _batch_in_hand(nats_url: str) -> Callable[[], Any]:
    async def in_hand() -> bool:
        nc = await nats.connect(nats_url)
        try:
            info = await nc.jetstream().consumer_info(OPS_STREAM, "drawing-persister")
        finally:
            await nc.close()
        return bool(info.delivered.stream_seq > info.ack_floor.stream_seq)

    return in_hand
