"""bench/node: Drawnet on the real node (drawnet.testkit.node), measured as a platform team meets it.

    sudo .venv/bin/python bench/node/run.py                       # everything, 50,000-stroke board
    sudo .venv/bin/python bench/node/run.py --strokes 10000 --repeat 1

What it prints (a Markdown report; everything also goes to bench/results/node-<time>.json):
- the node's start, step by step, and the chart's install time (helm install until every component is
  Ready by its own probes);
- `kubectl apply` of a DrawingSession -> the session Ready, and -> the first stroke acknowledged to a
  participant who joined through the ingress (the room image already on the node), `--repeat` times;
- an idle room pod: its process's resident memory and CPU over `--idle-seconds`;
- memory per participant: `--participants` more connections to one room, the room's RSS before and after;
- a room replaced under a board of `--strokes` strokes (written to the op log as rooms write them,
  stored by the drawing service): from the new room process's start (its /proc start time) to the first
  participant's welcome.

Needs root, the node's binaries (tools/k8s/build.sh node) and the images (built here when stale).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import nats
import websockets

from drawnet.protocol import (
    PROTOCOL_VERSION,
    AddStroke,
    Board,
    Hello,
    OpRecord,
    Welcome,
    decode_server,
    encode,
    ops_subject,
)
from drawnet.testkit.client import RoomClient
from drawnet.testkit.cluster import Drawnet, built_images, pod_exec
from drawnet.testkit.kube import wait_until
from drawnet.testkit.node import INGRESS_HOST, RealNode, find_node_binaries
from drawnet.testkit.operator import DrawingSessions, RawKube

RESULTS = Path(__file__).resolve().parents[1] / "results"
ROOM_URL = f"ws://{INGRESS_HOST}"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ----------------------------------------------------------------------------------------- helpers


def session_manifest(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "drawnet.dev/v1alpha1",
        "kind": "DrawingSession",
        "metadata": {"name": name},
        "spec": {},
    }


def ready(sessions: DrawingSessions, name: str) -> bool:
    found = sessions.find(name) or {}
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (found.get("status") or {}).get("conditions") or []
    )


async def join(http: httpx.AsyncClient, namespace: str, session: str, name: str) -> RoomClient:
    """Join as a guest, as the web app does: a token from the API, then the room through the ingress.
    Each participant is another browser: no guest cookie of an earlier one (one guest's connections are
    capped by max_connections_per_user)."""
    http.cookies.clear()
    response = await http.post(f"/api/v1/sessions/{session}/join", json={"name": name})
    response.raise_for_status()
    token = response.json()["token"]
    return await RoomClient.join(ROOM_URL, f"{namespace}/{session}", name=name, token=token, timeout=30)


async def join_when_possible(http: httpx.AsyncClient, namespace: str, session: str, name: str) -> RoomClient:
    while True:
        try:
            return await join(http, namespace, session, name)
        except (httpx.HTTPError, OSError, TimeoutError, Exception):  # noqa: BLE001 - not there yet
            await asyncio.sleep(0.05)


def one_stroke(prefix: str, index: int = 0) -> AddStroke:
    rng = random.Random(index)
    return AddStroke(
        id=f"{prefix}{index}",
        tool="pen",
        color="#1e1e1e",
        width=4.0,
        opacity=1.0,
        pts=[(rng.uniform(0, 2000), rng.uniform(0, 2000), 0.5) for _ in range(24)],
    )


async def resume_when_possible(namespace: str, session: str, token: str, board: Board) -> tuple[float, int]:
    """Rejoin with the board held and its seq, as the web app does after a reconnect: (the time the
    welcome came, the ops in it)."""
    while True:
        try:
            client = await RoomClient.join(
                ROOM_URL, f"{namespace}/{session}", token=token, since=board.seq, board=board, timeout=30
            )
        except (OSError, TimeoutError, Exception):  # noqa: BLE001 - not there yet
            await asyncio.sleep(0.05)
            continue
        welcomed = time.time()
        welcome = client.welcome
        await client.close()
        if welcome is None or welcome.snapshot is not None:
            raise RuntimeError("a resume got the whole board, or no welcome")
        return welcomed, len(welcome.ops)


async def first_welcome_frame(http: httpx.AsyncClient, namespace: str, session: str) -> tuple[float, int]:
    """A newcomer's join: (the time its whole welcome frame was in, the strokes in it)."""
    http.cookies.clear()
    response = await http.post(f"/api/v1/sessions/{session}/join", json={"name": "newcomer"})
    response.raise_for_status()
    hello = encode(
        Hello(v=PROTOCOL_VERSION, client="c-newcomer", name="newcomer", token=response.json()["token"])
    )
    while True:
        try:
            async with websockets.connect(f"{ROOM_URL}/rooms/{namespace}/{session}", max_size=None) as ws:
                await ws.send(hello)
                frame = await asyncio.wait_for(ws.recv(), timeout=60)
                received = time.time()
        except (OSError, TimeoutError, websockets.WebSocketException):
            await asyncio.sleep(0.05)
            continue
        welcome = decode_server(frame)
        if not isinstance(welcome, Welcome):
            raise TypeError(f"the room answered a hello with {welcome!r}")
        return received, len(welcome.snapshot.strokes) if welcome.snapshot else 0


def room_pid(node: RealNode, kube: RawKube, namespace: str, session: str) -> int:
    pod = kube.find("v1", "Pod", namespace, f"room-{session}") or {}
    statuses = pod.get("status", {}).get("containerStatuses") or []
    container = statuses[0]["containerID"].removeprefix("containerd://") if statuses else ""
    for line in node.ctr("tasks", "list").stdout.splitlines()[1:]:
        task, pid, status = line.split()
        if task == container and status == "RUNNING":
            return int(pid)
    raise LookupError(f"no running room task for {namespace}/{session}")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise LookupError(pid)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def started_at(pid: int) -> float:
    """The process's start, on the clock of time.time()."""
    ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    boot = next(
        float(line.split()[1])
        for line in Path("/proc/stat").read_text().splitlines()
        if line.startswith("btime")
    )
    return boot + ticks / CLK_TCK


def stroke_points(rng: random.Random, points: int) -> list[tuple[float, float, float]]:
    x, y = rng.uniform(0, 4000), rng.uniform(0, 3000)
    out = []
    for _ in range(points):
        x, y = x + rng.uniform(-4, 4), y + rng.uniform(-4, 4)
        out.append((round(x, 2), round(y, 2), 0.5))
    return out


async def write_board(nats_url: str, namespace: str, session: str, count: int, points: int) -> None:
    """`count` strokes into the session's op log, as a room writes them (deduplicated by op id)."""
    rng = random.Random(7)
    nc = await nats.connect(nats_url)
    js = nc.jetstream(publish_async_max_pending=2000)
    try:
        pending = []
        for index in range(count):
            op = AddStroke(
                id=f"big{index}",
                tool="pen",
                color="#1971c2",
                width=4.0,
                opacity=1.0,
                pts=stroke_points(rng, points),
            )
            record = encode(OpRecord(by="bench", op=op, ts=time.time()))
            pending.append(
                await js.publish_async(
                    ops_subject(namespace, session), record, headers={"Nats-Msg-Id": f"{session}/{op.id}"}
                )
            )
            if len(pending) >= 2000:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
    finally:
        await nc.close()


# ------------------------------------------------------------------------------------------- steps


async def apply_to_first_stroke(
    sessions: DrawingSessions, http: httpx.AsyncClient, namespace: str, name: str
) -> dict[str, float]:
    began = time.monotonic()
    sessions.create(session_manifest(name))
    client_task = asyncio.create_task(join_when_possible(http, namespace, name, "first"))
    while not ready(sessions, name):  # noqa: ASYNC110 - the API server is polled, no event to await
        await asyncio.sleep(0.02)
    ready_after = time.monotonic() - began
    client = await client_task
    joined_after = time.monotonic() - began
    answer = await client.submit(one_stroke("first"))
    if type(answer).__name__ != "Ack":
        raise RuntimeError(f"the first stroke was refused: {answer}")
    acked_after = time.monotonic() - began
    await client.close()
    return {"ready_s": ready_after, "welcome_s": joined_after, "first_ack_s": acked_after}


async def measure(args: argparse.Namespace, node: RealNode, drawnet: Drawnet, report: dict[str, Any]) -> None:
    namespace = drawnet.namespace
    with node.api_client() as api:
        kube = RawKube(api)
        sessions = DrawingSessions(api, namespace)
        async with httpx.AsyncClient(base_url=drawnet.url, timeout=30) as http:
            # 1. apply -> Ready -> first acked stroke
            report["apply"] = [
                await apply_to_first_stroke(sessions, http, namespace, f"bench-apply-{index}")
                for index in range(args.repeat)
            ]

            # 2. an idle room, then participants
            name = "bench-apply-0"
            pid = room_pid(node, kube, namespace, name)
            cpu_before, clock = cpu_seconds(pid), time.monotonic()
            await asyncio.sleep(args.idle_seconds)
            idle_cpu = (cpu_seconds(pid) - cpu_before) / (time.monotonic() - clock) * 100
            idle_rss = rss_mib(pid)
            clients = [await join(http, namespace, name, f"p{i}") for i in range(args.participants)]
            await asyncio.sleep(2)
            with_participants = rss_mib(pid)
            for client in clients:
                await client.close()
            report["room"] = {
                "idle_rss_mib": idle_rss,
                "idle_cpu_percent": idle_cpu,
                "participants": args.participants,
                "rss_with_participants_mib": with_participants,
                "per_participant_kib": (with_participants - idle_rss) * 1024 / args.participants,
            }

            # 3. a room replaced under a big board
            big = "bench-big"
            sessions.create(session_manifest(big))
            wait_until(lambda: ready(sessions, big), timeout=120, what="the big board's room Ready")
            service = kube.find("v1", "Service", namespace, "drawnet-nats") or {}
            nats_url = f"nats://{service['spec']['clusterIP']}:4222"
            began = time.monotonic()
            await write_board(nats_url, namespace, big, args.strokes, args.points)
            written = time.monotonic() - began
            postgres = kube.list("v1", "Pod", namespace, selector="app.kubernetes.io/component=postgresql")[0]
            query = f"select count(*) from ops where session = '{big}'"  # noqa: S608 - our own name

            def stored() -> bool:
                output = pod_exec(
                    api,
                    namespace,
                    postgres["metadata"]["name"],
                    ["psql", "-U", "drawnet", "-d", "drawnet", "-tAc", query],
                )
                wanted: int = args.strokes
                return int(output.strip()) >= wanted

            wait_until(stored, timeout=600, interval=1, what=f"{args.strokes} strokes stored")
            stored_after = time.monotonic() - began
            # Someone who was drawing when the room went: they hold the board, and resume from its seq.
            http.cookies.clear()
            response = await http.post(f"/api/v1/sessions/{big}/join", json={"name": "returning"})
            response.raise_for_status()
            token = response.json()["token"]
            returning = await RoomClient.join(ROOM_URL, f"{namespace}/{big}", token=token, timeout=120)
            held = returning.board
            await returning.close()
            old_pid = room_pid(node, kube, namespace, big)
            kube.request_sync("DELETE", f"/api/v1/namespaces/{namespace}/pods/room-{big}")

            def new_pid() -> int | None:
                try:
                    found = room_pid(node, kube, namespace, big)
                except LookupError:
                    return None
                return found if found != old_pid else None

            pid = wait_until(new_pid, timeout=120, interval=0.02, what="the new room's process")
            process_start = started_at(pid)
            # Both at once, as when a room is replaced: the one who was there resumes (a tail of what
            # they missed), a newcomer gets the whole board (timed when its welcome frame is in, before
            # this client decodes it).
            (resumed, _), (fresh, strokes_seen) = await asyncio.gather(
                resume_when_possible(namespace, big, token, held), first_welcome_frame(http, namespace, big)
            )
            # The new room's own account of its start, each line with the kubelet's timestamp.
            room_log = client_log(api, namespace, f"room-{big}")
            report["replaced_room"] = {
                "strokes": args.strokes,
                "points_per_stroke": args.points,
                "written_s": written,
                "stored_s": stored_after,
                "process_start_to_welcome_s": fresh - process_start,
                "process_start_to_resumed_s": resumed - process_start,
                "strokes_in_welcome": strokes_seen,
                "process_start": dt.datetime.fromtimestamp(process_start, dt.UTC).isoformat(),
                "room_log": room_log,
            }


def client_log(api: Any, namespace: str, pod: str) -> list[str]:
    from kubernetes import client  # noqa: PLC0415 - the client library is slow to import

    text = client.CoreV1Api(api).read_namespaced_pod_log(pod, namespace, timestamps=True)
    return str(text).splitlines()[-40:]


def print_report(report: dict[str, Any]) -> None:
    out = sys.stdout.write
    out(f"# bench/node — {report['when']}\n\n")
    out("## The node's start and the chart's install\n\n| step | seconds |\n| --- | ---: |\n")
    for step, seconds in report["node_start"].items():
        out(f"| {step} | {seconds:.2f} |\n")
    out(f"| **node in all** | **{sum(report['node_start'].values()):.2f}** |\n")
    out(f"| helm install -> every component Ready | {report['install_s']:.1f} |\n\n")
    out("## kubectl apply -> room Ready -> first acknowledged stroke (through the ingress)\n\n")
    out("| run | session Ready | welcome | first ack |\n| --- | ---: | ---: | ---: |\n")
    for index, run in enumerate(report["apply"]):
        times = (run["ready_s"], run["welcome_s"], run["first_ack_s"])
        out(f"| {index + 1} | " + " | ".join(f"{t:.2f} s" for t in times) + " |\n")
    acks = [run["first_ack_s"] for run in report["apply"]]
    out(f"| median | | | {statistics.median(acks):.2f} s |\n\n")
    room = report["room"]
    out("## A room pod\n\n")
    out(f"- idle: {room['idle_rss_mib']:.1f} MiB resident, {room['idle_cpu_percent']:.2f} % of a CPU\n")
    out(
        f"- with {room['participants']} participants: {room['rss_with_participants_mib']:.1f} MiB, "
        f"{room['per_participant_kib']:.0f} KiB per participant\n\n"
    )
    big = report["replaced_room"]
    out(f"## A room replaced under a board of {big['strokes']:,} strokes ")
    out(f"({big['points_per_stroke']} points)\n\n")
    out(f"- written to the op log in {big['written_s']:.1f} s, ")
    out(f"all stored in SQL after {big['stored_s']:.1f} s\n")
    out(
        f"- new room process start -> a returning participant's welcome (a resume from their seq): "
        f"**{big['process_start_to_resumed_s']:.2f} s**\n"
        f"- new room process start -> a newcomer's whole welcome frame received: "
        f"**{big['process_start_to_welcome_s']:.2f} s** ({big['strokes_in_welcome']:,} strokes in it)\n"
    )
    out(f"- the new room's log (process started {big['process_start']}):\n\n```\n")
    out("".join(f"{line}\n" for line in big["room_log"]))
    out("```\n")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3, help="apply -> first stroke runs (default 3)")
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--participants", type=int, default=50)
    parser.add_argument("--strokes", type=int, default=50_000)
    parser.add_argument("--points", type=int, default=24, help="points per stroke of the big board")
    args = parser.parse_args()
    images = built_images(build=True)
    node = RealNode(
        images=[image.tarball for image in images.values()],
        sandbox_image=images["pause"].reference,
        binaries=find_node_binaries(),
    )
    report: dict[str, Any] = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "args": vars(args),
    }
    with node:
        report["node_start"] = dict(node.startup_seconds)
        drawnet = Drawnet(node, images)
        drawnet.install()
        report["install_s"] = drawnet.install_seconds
        asyncio.run(measure(args, node, drawnet, report))
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"node-{report['when'].replace(':', '')}.json"
    path.write_text(json.dumps(report, indent=2))
    print_report(report)
    sys.stdout.write(f"\n(written to {path})\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
