"""bench/failover/nats_leader: how long acknowledgements stop when the op log's leader dies in a three-server
NATS cluster (the chart's HA shape), while people draw.

    .venv/bin/python bench/failover/nats_leader.py              # 5 rounds
    .venv/bin/python bench/failover/nats_leader.py --rounds 10

Three real nats-server processes clustered on loopback (JetStream on each, the op log with 3 replicas),
a drawing service (SQLite) and a room given all three servers, `--people` participants each committing a
small stroke every `--interval` seconds (the testkit's Participant: it rejoins and resends its outbox as
the web app does). Each round SIGKILLs the stream's leader, then measures: the time until a new leader is
elected, the longest time any participant waited for its next ack (from the kill), and whether every
acknowledged op is still on the board. The killed server is started again before the next round. Prints
a Markdown table; writes the rounds to bench/results/failover-nats-<time>.json (not committed).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import nats
from nats.aio.client import Client

from drawnet.embedded.components import DrawingService, RoomServer
from drawnet.protocol import OPS_STREAM
from drawnet.testkit.natscluster import NatsCluster, stream_leader
from drawnet.testkit.participant import Participant, converged, each_draws
from drawnet.testkit.tokens import TEST_SIGNING_KEYS, Signer
from drawnet.testkit.waiting import eventually_async, holds

RESULTS = Path(__file__).resolve().parents[1] / "results"


async def _ack_gap(people: list[Participant], killed_at: float, timeout: float = 60.0) -> float:
    """Seconds from the kill until every participant has had an ack for an op sent after it."""
    counts = [len(p.acked) for p in people]
    waiting = set(range(len(people)))
    deadline = killed_at + timeout
    # An ack in flight at the kill may still arrive; two more acks each prove the log is being written.
    while waiting and time.monotonic() < deadline:
        for index in list(waiting):
            if len(people[index].acked) >= counts[index] + 2:
                waiting.discard(index)
        await asyncio.sleep(0.005)
    if waiting:
        raise TimeoutError(f"no acks for {sorted(waiting)} within {timeout}s of the kill")
    return time.monotonic() - killed_at


async def run(args: argparse.Namespace, folder: Path) -> list[dict[str, object]]:
    cluster = NatsCluster(folder / "nats").start()
    drawing = DrawingService(
        nats_url=cluster.url,
        database_url=f"sqlite:///{folder / 'drawnet.db'}",
        log_path=folder / "drawing.log",
        signing_keys=TEST_SIGNING_KEYS,
        extra_env={"DRAWNET_DRAWING_OPS_STREAM_REPLICAS": "3"},
    ).start(timeout=60)
    room = RoomServer(
        nats_url=cluster.url,
        log_path=folder / "room.log",
        signing_keys=TEST_SIGNING_KEYS,
        drawing_url=drawing.url,
    ).start(timeout=60)
    monitor = await nats.connect(cluster.url.split(","), max_reconnect_attempts=-1, reconnect_time_wait=0.1)
    signer = Signer()

    def token(name: str) -> Callable[[], str]:
        return lambda: signer.token("failover", name=name)

    people = [
        Participant(
            [room.url],
            "failover",
            f"p{i}",
            token(f"p{i}"),
            interval=args.interval,
        )
        for i in range(args.people)
    ]
    stop = asyncio.Event()
    running = [asyncio.create_task(p.run(stop)) for p in people]
    rounds: list[dict[str, object]] = []
    try:
        for number in range(1, args.rounds + 1):
            await each_draws(people, 5)
            leader = await stream_leader(monitor)
            server = cluster.by_name(leader)
            assert server.process is not None  # noqa: S101 - started with the cluster
            killed_at = time.monotonic()
            server.process.kill()
            elected, gap = await asyncio.gather(
                _elected(monitor, leader, killed_at), _ack_gap(people, killed_at)
            )
            rounds.append({"round": number, "killed": leader, "new_leader_s": elected, "ack_gap_s": gap})
            print(
                f"round {number}: killed {leader}; leader in {elected:.2f}s, acks in {gap:.2f}s",
                file=sys.stderr,
            )
            server.launch()  # back, same store: it catches up as a follower
            await eventually_async(lambda: _current(monitor), timeout=60, what="three current replicas")
        for person in people:
            person.drawing = False
        await eventually_async(holds(lambda: converged(people)), timeout=60, what="every ack on every board")
        acked = {op_id for p in people for op_id in p.acked}
        lost = acked - people[0].stroke_ids()
        for entry in rounds:
            entry["acked_total"] = len(acked)
            entry["lost"] = len(lost)
    finally:
        stop.set()
        await asyncio.gather(*running)
        await monitor.close()
        room.stop()
        drawing.stop()
        cluster.stop()
    return rounds


async def _elected(monitor: Client, old: str, since: float) -> float:
    while await stream_leader(monitor, timeout=60) == old:  # noqa: ASYNC110 - polling the server
        await asyncio.sleep(0.01)
    return time.monotonic() - since


async def _current(monitor: Client) -> bool:
    info = await monitor.jetstream().stream_info(OPS_STREAM)
    replicas = info.cluster.replicas if info.cluster is not None else None
    return bool(replicas) and len(replicas or []) == 2 and all(r.current for r in replicas or [])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--people", type=int, default=4)
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between one person's strokes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="drawnet-failover-") as folder:
        rounds = asyncio.run(run(args, Path(folder)))
    elected = [float(r["new_leader_s"]) for r in rounds]  # type: ignore[arg-type]
    gaps = [float(r["ack_gap_s"]) for r in rounds]  # type: ignore[arg-type]
    print(
        f"NATS cluster of 3, op log R3, {args.people} people each drawing every {args.interval}s; "
        f"{args.rounds} rounds of SIGKILL of the stream leader\n"
    )
    print("| round | killed | new leader after | every person acked again after |")
    print("| --- | --- | --- | --- |")
    for entry, e, g in zip(rounds, elected, gaps, strict=True):
        print(f"| {entry['round']} | {entry['killed']} | {e:.2f} s | {g:.2f} s |")
    print(f"| median | | {statistics.median(elected):.2f} s | {statistics.median(gaps):.2f} s |")
    print(f"| max | | {max(elected):.2f} s | {max(gaps):.2f} s |")
    print(f"\nacknowledged ops: {rounds[-1]['acked_total']}, lost: {rounds[-1]['lost']}")
    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"failover-nats-{stamp}.json").write_text(json.dumps(rounds, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
