"""bench/failover/persister: how long storing stops when the active persister dies and its standby takes
over the Kubernetes Lease (the chart's HA shape: `drawing.persister.replicas: 2`).

    .venv/bin/python bench/failover/persister.py                     # 5 rounds, the chart's 15 s lease
    .venv/bin/python bench/failover/persister.py --lease-seconds 5 --rounds 3

A real control plane (tools/k8s binaries; the Lease lives in its API server), a nats-server, SQLite, and
two persisters (`python -m drawnet.drawing` with `persist_lease`, the persister's RBAC single source as
their ServiceAccount's Role). Ops are logged continuously (10 every 20 ms). Each round SIGKILLs the active
persister, then measures the time until the standby reports itself active and until SQL holds an op
logged after the kill; the killed one is started again (it stands by) before the next round. Also one
graceful stop (SIGTERM: the Lease is released). At the end every logged op must be stored exactly once.
Prints a Markdown table; writes the rounds to bench/results/failover-persister-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import functools
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from drawnet.drawing.lease import RBAC_PATH
from drawnet.embedded.components import DrawingService, NatsServer
from drawnet.operator.resource import load_yaml_documents
from drawnet.protocol import AddStroke
from drawnet.testkit.client import line
from drawnet.testkit.kube import ControlPlane
from drawnet.testkit.metrics import metric
from drawnet.testkit.operator import install_role, service_account_kubeconfig
from drawnet.testkit.oplog import log_ops

RESULTS = Path(__file__).resolve().parents[1] / "results"


def active(service: DrawingService) -> bool:
    try:
        text = httpx.get(f"{service.url}/metrics", timeout=2).text
    except httpx.HTTPError:
        return False
    return metric(text, "drawnet_drawing_persister_active") == 1


def stored_max_seq(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT coalesce(max(seq), 0) FROM ops").fetchone()[0])


async def until(predicate: Callable[[], bool], timeout: float = 120.0) -> float:
    """Seconds until `predicate()` holds (polled every 10 ms)."""
    began = time.monotonic()
    while not predicate():
        if time.monotonic() - began > timeout:
            raise TimeoutError("not within the bench's deadline")
        await asyncio.sleep(0.01)
    return time.monotonic() - began


def _stored_past(db: Path, seq: int) -> bool:
    return stored_max_seq(db) > seq


async def run(args: argparse.Namespace, folder: Path) -> list[dict[str, object]]:  # noqa: PLR0915
    nats = NatsServer(data_dir=folder / "nats").start()
    db = folder / "drawnet.db"
    with ControlPlane(start_timeout=120) as plane, plane.api_client() as api:
        namespace = plane.create_namespace()
        (role,) = load_yaml_documents(RBAC_PATH)
        install_role(api, role, service_account="persister", namespace=namespace)
        kubeconfig = service_account_kubeconfig(
            api,
            server=plane.server,
            ca_cert=plane.ca_cert,
            namespace=namespace,
            name="persister",
            path=folder / "persister.kubeconfig",
        )
        env = {
            "DRAWNET_DRAWING_PERSIST_LEASE": "drawnet-persister",
            "DRAWNET_DRAWING_PERSIST_LEASE_SECONDS": str(args.lease_seconds),
            "DRAWNET_DRAWING_PERSIST_LEASE_RENEW_SECONDS": str(args.lease_seconds / 3),
            "DRAWNET_DRAWING_KUBECONFIG": str(kubeconfig),
            "DRAWNET_DRAWING_NAMESPACE": namespace,
        }
        persisters = [
            DrawingService(
                nats_url=nats.url,
                database_url=f"sqlite:///{db}",
                log_path=folder / f"p{i}.log",
                extra_env=env,
            ).start(timeout=120)
            for i in range(2)
        ]
        logged: list[int] = []
        stop = asyncio.Event()

        async def keep_logging() -> None:
            i = 0
            while not stop.is_set():
                ops = [
                    AddStroke(id=f"s{n}", tool="pen", color="#000000", width=2, opacity=1, pts=line(4))
                    for n in range(i, i + 10)
                ]
                logged.extend(await log_ops(nats.url, "bench", ops, namespace=namespace))
                i += 10
                await asyncio.sleep(0.02)

        writer = asyncio.create_task(keep_logging())
        rounds: list[dict[str, object]] = []
        try:
            await until(lambda: any(active(p) for p in persisters))
            for number in range(1, args.rounds + 2):
                graceful = number == args.rounds + 1
                await until(lambda: len(logged) >= 100 and stored_max_seq(db) >= logged[-1] - 50)
                (victim,) = [p for p in persisters if active(p)]
                standby = next(p for p in persisters if p is not victim)
                assert victim.process is not None  # noqa: S101
                killed_at = time.monotonic()
                if graceful:
                    victim.stop()
                else:
                    victim.process.kill()
                mark = logged[-1]
                took_over = await until(functools.partial(active, standby))
                await until(functools.partial(_stored_past, db, mark))
                storing = time.monotonic() - killed_at
                how = "SIGTERM" if graceful else "SIGKILL"
                rounds.append(
                    {"round": number, "how": how, "takeover_s": took_over, "storing_again_s": storing}
                )
                print(
                    f"round {number} ({how}): active after {took_over:.2f}s, storing after {storing:.2f}s",
                    file=sys.stderr,
                )
                victim.start(timeout=120)  # back as the standby
            stop.set()
            await writer
            await until(lambda: stored_max_seq(db) >= logged[-1])
            with sqlite3.connect(db) as conn:
                seqs = [row[0] for row in conn.execute("SELECT seq FROM ops ORDER BY seq")]
            for entry in rounds:
                entry["logged"] = len(logged)
                entry["stored_once_in_order"] = seqs == logged
        finally:
            stop.set()
            await asyncio.gather(writer, return_exceptions=True)
            for persister in persisters:
                persister.stop()
            nats.stop()
    return rounds


def _seconds(value: object) -> float:
    assert isinstance(value, float)  # noqa: S101
    return value


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5, help="SIGKILL rounds (one SIGTERM round follows)")
    parser.add_argument("--lease-seconds", type=float, default=15.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="drawnet-persister-failover-") as folder:
        rounds = asyncio.run(run(args, Path(folder)))
    killed = [r for r in rounds if r["how"] == "SIGKILL"]
    takeovers = [_seconds(r["takeover_s"]) for r in killed]
    storing = [_seconds(r["storing_again_s"]) for r in killed]
    renew = args.lease_seconds / 3
    print(f"two persisters, lease {args.lease_seconds:g} s (renewed every {renew:g} s), SQLite\n")
    print("| round | stop | standby active after | an op logged after the stop stored after |")
    print("| --- | --- | --- | --- |")
    for r in rounds:
        took, stored = _seconds(r["takeover_s"]), _seconds(r["storing_again_s"])
        print(f"| {r['round']} | {r['how']} | {took:.2f} s | {stored:.2f} s |")
    print(
        f"| median (SIGKILL) | | {statistics.median(takeovers):.2f} s | {statistics.median(storing):.2f} s |"
    )
    last = rounds[-1]
    print(f"\nops logged: {last['logged']}, every one stored once, in order: {last['stored_once_in_order']}")
    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"failover-persister-{stamp}.json").write_text(json.dumps(rounds, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
