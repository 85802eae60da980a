"""bench/replicas: one session across several room replicas (what `spec.room.replicas` runs), driven by
the Go load generator: participants spread over the replicas, each sending live frames; every frame must
reach every other participant, whichever replica they are on (the relay between replicas over NATS).

    .venv/bin/python bench/replicas/run.py                   # 1 and 3 replicas, 30/60/90 people
    .venv/bin/python bench/replicas/run.py --replicas 3 --participants 120

A nats-server and `--replicas` room processes (`DRAWNET_ROOM_RELAY_BETWEEN_REPLICAS=true`), all on this
machine with no pinning; `bench/loadgen` (built here with `go build`) joins participant i to replica
i mod n with a signed join token, sends 30 live frames a second each (200 bytes as delivered), 1 s
warm-up, 5 s measured, and counts deliveries, loss and latency. The rooms allow 1,000 participants and
connections per address (every generated one comes from 127.0.0.1). Prints a Markdown table; writes the runs
to bench/results/replicas-<time>.json (not committed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from drawnet.embedded.components import NatsServer, RoomServer
from drawnet.testkit.tokens import TEST_SIGNING_KEYS

BENCH = Path(__file__).resolve().parents[1]
LOADGEN = BENCH / "loadgen" / "loadgen"
RESULTS = BENCH / "results"


def measure(replicas: int, participants: int, hz: float, folder: Path) -> dict[str, Any]:
    nats = NatsServer(data_dir=folder / f"nats-{replicas}-{participants}").start()
    rooms = [
        RoomServer(
            nats_url=nats.url,
            log_path=folder / f"room-{replicas}-{participants}-{i}.log",
            signing_keys=TEST_SIGNING_KEYS,
            extra_env={
                "DRAWNET_ROOM_RELAY_BETWEEN_REPLICAS": "true",
                "DRAWNET_ROOM_REPLICA_ID": f"r{i}",
                # Every generated participant comes from 127.0.0.1, and a big session is what is measured.
                "DRAWNET_ROOM_MAX_PARTICIPANTS": "1000",
                "DRAWNET_ROOM_MAX_CONNECTIONS_PER_ADDRESS": "1000",
            },
        ).start(timeout=120)
        for i in range(replicas)
    ]
    try:
        command = [
            str(LOADGEN),
            "-url",
            ",".join(room.url for room in rooms),
            "-sign-key",
            TEST_SIGNING_KEYS.split(",")[0],
            "-mode",
            "steady",
            "-rooms",
            "1",
            "-participants",
            str(participants),
            "-hz",
            f"{hz:g}",
            "-size",
            "200",
            "-warmup",
            "1s",
            "-seconds",
            "5s",
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)  # noqa: S603
        print(done.stderr.strip(), file=sys.stderr)
        result: dict[str, Any] = json.loads(done.stdout)
    finally:
        for room in rooms:
            room.stop()
        nats.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--replicas", type=int, nargs="*", default=[1, 3])
    parser.add_argument("--participants", type=int, nargs="*", default=[30, 60, 90])
    parser.add_argument("--hz", type=float, default=30.0, help="live frames per second per participant")
    args = parser.parse_args()
    subprocess.run(["go", "build", "-o", str(LOADGEN), "."], cwd=LOADGEN.parent, check=True)  # noqa: S603,S607
    runs = []
    with tempfile.TemporaryDirectory(prefix="drawnet-replicas-") as folder:
        for replicas in args.replicas:
            for participants in args.participants:
                out = measure(replicas, participants, args.hz, Path(folder))
                runs.append({"replicas": replicas, "participants": participants, **out["result"]})
    print(f"one session, live frames at {args.hz:g} Hz per participant, 200 bytes, 5 s measured\n")
    print("| replicas | participants | deliveries/s | lost | p50 | p99 | max |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for run in runs:
        latency = run.get("latency", {})
        p50, p99, most = (latency.get(k, 0) for k in ("p50_ms", "p99_ms", "max_ms"))
        print(
            f"| {run['replicas']} | {run['participants']} | {run.get('deliveries_per_s', 0):,.0f} | "
            f"{run.get('lost', '?')} | {p50:.2f} ms | {p99:.2f} ms | {most:.2f} ms |"
        )
    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"replicas-{stamp}.json").write_text(json.dumps(runs, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
