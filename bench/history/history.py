"""bench/history: the board's history on a 50,000-op board (issue 25, item 3).

    .venv/bin/python bench/history/history.py                        # SQLite, 50,000 ops
    .venv/bin/python bench/history/history.py --database-url postgresql://…  --ops 50000

A nats-server and a drawing service (`python -m drawnet.drawing`, its persister on); the board's ops are
logged as a room logs them (strokes of 16 points, every 10th op a transform of an earlier stroke, every
25th an erase) and stored by the persister. Then, each five times (the median is reported):

- in node (`replay.mjs`), as the web app's timeline does it: the whole history fetched and parsed
  (`GET …/history` page after page, `max_ops_page_size` 10,000 ops a page, with authors and times); the
  timeline (`frontend/js/history.js`, board.js) opened at the last op; 40 jumps to random points;
- "restore as a copy" at the middle seq: `POST …/copies` (the board replayed from SQL, a new session, its
  items logged).

Targets: the whole history in under 2 s, a jump to any seq in under 500 ms, a copy in under 10 s.
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from drawnet.embedded.components import DrawingService, NatsServer
from drawnet.protocol import AddStroke, Erase, Op, Transform
from drawnet.testkit.oplog import log_ops

HERE = Path(__file__).resolve().parent
NODE = shutil.which("node") or "node"
TARGETS = {"history": 2.0, "jump": 0.5, "copy": 10.0}


def board_ops(count: int) -> list[Op]:
    ops: list[Op] = []
    for i in range(count):
        if i % 10 == 9:
            ops.append(Transform(id=f"t{i}", items=[f"s{i - 5}"], m=(1.0, 0.0, 0.0, 1.0, 3.0, 2.0)))
        elif i % 25 == 24:
            ops.append(Erase(id=f"e{i}", strokes=[f"s{i - 3}"]))
        else:
            x, y = (i % 200) * 12.0, (i // 200) * 12.0
            pts = [(x + k, y + (k % 4), 0.5) for k in range(16)]
            ops.append(AddStroke(id=f"s{i}", tool="pen", color="#1e1e1e", width=3.0, opacity=1.0, pts=pts))
    return ops


def median_of(runs: int, measure: object) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        measure()  # type: ignore[operator]
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ops", type=int, default=50_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        nats_server = NatsServer(data_dir=data / "nats").start()
        service = DrawingService(
            nats_url=nats_server.url,
            database_url=args.database_url or f"sqlite:///{data / 'drawnet.db'}",
            log_path=data / "drawing.log",
        ).start(timeout=120)
        try:
            run(service.url, nats_server.url, args)
        finally:
            service.stop()
            nats_server.stop()


def run(url: str, nats_url: str, args: argparse.Namespace) -> None:
    session = "history-bench"
    began = time.perf_counter()
    seqs: list[int] = []
    ops = board_ops(args.ops)
    for start in range(0, len(ops), 5_000):
        seqs += asyncio.run(log_ops(nats_url, session, ops[start : start + 5_000], by="bench-user"))
    logged = time.perf_counter() - began
    with httpx.Client(base_url=url, timeout=120) as http:
        while http.get(f"/api/v1/sessions/{session}/board").json()["seq"] < seqs[-1]:
            time.sleep(0.5)
        stored = time.perf_counter() - began
        timeline = json.loads(
            subprocess.run(  # noqa: S603 - our own script
                [NODE, str(HERE / "replay.mjs"), url, session, str(args.runs)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        user = {"username": "bench-user", "password": "bench-user draws a violet heron at dawn"}
        http.post("/api/v1/users", json=user)
        login = {"Authorization": f"Bearer {http.post('/api/v1/auth/login', json=user).json()['token']}"}
        middle = seqs[len(seqs) // 2]
        copies: list[dict[str, object]] = []

        def copy() -> None:
            response = http.post(f"/api/v1/sessions/{session}/copies", json={"seq": middle}, headers=login)
            response.raise_for_status()
            copies.append(response.json())

        copied = median_of(args.runs, copy)
    history, jump = timeline["fetch_ms"] / 1000, timeline["jump_max_ms"] / 1000
    rows = [
        ("ops logged, then stored by the persister", f"{logged:.1f} s, {stored:.1f} s", ""),
        (
            f"whole history fetched and parsed: {timeline['pages']} pages, {timeline['megabytes']:.1f} MB",
            f"{history:.2f} s",
            f"< {TARGETS['history']:g} s",
        ),
        (f"timeline opened at the last op ({timeline['items']} items)", f"{timeline['open_ms']:.0f} ms", ""),
        ("a jump to a random point: median", f"{timeline['jump_median_ms']:.0f} ms", ""),
        (
            "a jump to a random point: the slowest of 40",
            f"{jump * 1000:.0f} ms",
            f"< {TARGETS['jump'] * 1000:.0f} ms",
        ),
        (
            f"restore as a copy at the middle seq ({copies[-1]['items']} items)",
            f"{copied:.2f} s",
            f"< {TARGETS['copy']:g} s",
        ),
    ]
    database = args.database_url.split(":")[0] if args.database_url else "sqlite"
    print(f"\n{args.ops} ops, {database}, median of {args.runs}\n")
    print("| what | measured | target |\n| --- | --- | --- |")
    for what, measured, target in rows:
        print(f"| {what} | {measured} | {target} |")
    met = history < TARGETS["history"] and jump < TARGETS["jump"] and copied < TARGETS["copy"]
    print(f"\ntargets {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
