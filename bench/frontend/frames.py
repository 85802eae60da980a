"""Frame times of the web app on a board of 10,000 strokes, in real headless Chromium.

Starts NATS, a room and the drawing service on loopback, imports N generated strokes into a board through
the REST API (the way a JSON import does), opens the board in Debian's Chromium (Playwright,
`executable_path`), waits for the welcome's snapshot, then drives the camera once per frame through
scripted pans and zooms and records every frame: the interval between frames and the time the renderer
spent drawing. The same views are then drawn without the tile cache (every visible stroke's cached Path2D
stroked each frame) for comparison. Prints a Markdown table; writes everything to
bench/results/frontend-<time>.json.

    .venv/bin/python bench/frontend/frames.py              # 10,000 strokes, dpr 1 and 2: about 2 minutes
    .venv/bin/python bench/frontend/frames.py --strokes 2000 --dpr 1 --seconds 2
    .venv/bin/python bench/frontend/frames.py --mixed 0.4  # 10,000 items: 40 % shapes, texts and notes

With `--mixed`, that share of the items are shapes (rectangles, ellipses, diamonds, arrows, lines; some
filled), texts and sticky notes, some of them rotated, spread like the strokes ("no cache" still
strokes only the strokes).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from drawnet.embedded.components import DrawingService, NatsServer, RoomServer, free_port
from drawnet.testkit.tokens import TEST_SIGNING_KEYS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
RESULTS = Path(__file__).parents[1] / "results"
COLORS = ["#1e1e1e", "#e03131", "#f08c00", "#2f9e44", "#1971c2", "#6741d9", "#c2255c", "#0c8599"]
SESSION = "frame-bench"
WORDS = ["plan", "api", "room", "nats", "board", "ship it"]
PREFS = json.dumps({"name": "Bench", "color": "#1971c2", "penColor": "#1971c2", "penWidth": 4})

DRIVE = "\n".join(
    line
    for line in Path(__file__).with_name("drive.js").read_text().splitlines()
    if not line.startswith("//")
)
"""The in-page driver: camera moves, frame intervals and draw times."""


def strokes(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """Hand-like random strokes spread over a 24,000 by 15,000 board (about 12 by 12 screens at 100%)."""
    rng = random.Random(seed)
    out = []
    for n in range(count):
        x, y = rng.uniform(-12000, 12000), rng.uniform(-7500, 7500)
        heading = rng.uniform(0, 2 * math.pi)
        pts = []
        for _ in range(rng.randint(8, 40)):
            heading += rng.gauss(0, 0.35)
            x += 6 * math.cos(heading)
            y += 6 * math.sin(heading)
            pts.append([round(x, 2), round(y, 2), round(rng.uniform(0.35, 0.65), 3)])
        out.append(
            {
                "kind": "stroke",
                "id": f"bench-{n}",
                "tool": "pen",
                "color": rng.choice(COLORS),
                "width": rng.choice([2.0, 3.0, 4.0, 6.0]),
                "opacity": 1.0,
                "pts": pts,
            }
        )
    return out


def mixed(
    board: list[dict[str, Any]], share: float, seed: int = 11
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """`share` of the strokes replaced by shapes, texts and notes at the same places; a tenth of those
    turned by a few degrees (an import's `placements`)."""
    rng = random.Random(seed)
    placements: dict[str, Any] = {}
    out: list[dict[str, Any]] = []
    for item in board:
        if rng.random() >= share:
            out.append(item)
            continue
        x, y = item["pts"][0][0], item["pts"][0][1]
        what = rng.random()
        color = rng.choice(COLORS)
        if what < 0.65:
            made: dict[str, Any] = {
                "kind": "shape",
                "id": item["id"],
                "shape": rng.choice(["rect", "ellipse", "diamond", "arrow", "line"]),
                "x": x,
                "y": y,
                "w": rng.uniform(40, 220),
                "h": rng.uniform(30, 160),
                "color": color,
                "width": rng.choice([2.0, 3.0]),
                "fill": "#e7f5ff" if rng.random() < 0.3 else None,
                "rounded": True,
                "end_head": True,
            }
        elif what < 0.9:
            words = " ".join(
                rng.choice(["plan", "api", "room", "nats", "board", "ship it"]) for _ in range(4)
            )
            made = {
                "kind": "text",
                "id": item["id"],
                "x": x,
                "y": y,
                "text": words,
                "size": 20,
                "color": color,
            }
        else:
            made = {
                "kind": "note",
                "id": item["id"],
                "x": x,
                "y": y,
                "w": 160,
                "text": "todo\nreview",
                "size": 18,
                "fill": "#ffec99",
            }
        if rng.random() < 0.1:
            angle = rng.uniform(-0.3, 0.3)
            cos, sin = math.cos(angle), math.sin(angle)
            placements[item["id"]] = {
                "m": [cos, sin, -sin, cos, x - cos * x + sin * y, y - sin * x - cos * y]
            }
        out.append(made)
    return out, placements


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(intervals: list[float], draws: list[float]) -> dict[str, float]:
    return {
        "frames": len(intervals),
        "fps": 1000 * len(intervals) / max(1e-9, sum(intervals)),
        "interval_p50_ms": percentile(intervals, 0.5),
        "interval_p95_ms": percentile(intervals, 0.95),
        "interval_max_ms": max(intervals, default=float("nan")),
        "draw_p50_ms": percentile(draws, 0.5),
        "draw_p95_ms": percentile(draws, 0.95),
        "draw_max_ms": max(draws, default=float("nan")),
        "long_frames": sum(1 for i in intervals if i > 50),
    }


def main() -> int:  # noqa: PLR0915 - one script, top to bottom
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--strokes", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each scripted camera move")
    parser.add_argument("--dpr", type=float, nargs="+", default=[1.0, 2.0], help="device pixel ratios")
    parser.add_argument(
        "--mixed", type=float, default=0.0, help="share of the items that are shapes, texts and notes (0..1)"
    )
    args = parser.parse_args()
    try:
        from playwright.sync_api import sync_playwright  # noqa: PLC0415 - a dev dependency
    except ImportError:
        print("playwright is missing: tools/bootstrap.sh --test installs it", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="drawnet-frames-") as tmp:
        data = Path(tmp)
        nats = NatsServer(data_dir=data / "nats").start()
        drawing_port = free_port()
        room = RoomServer(
            nats_url=nats.url,
            log_path=data / "room.log",
            signing_keys=TEST_SIGNING_KEYS,
            drawing_url=f"http://127.0.0.1:{drawing_port}",
        )
        drawing = DrawingService(
            nats_url=nats.url,
            database_url=f"sqlite:///{data / 'drawnet.db'}",
            log_path=data / "drawing.log",
            port=drawing_port,
            room_public_url=room.url,
            signing_keys=TEST_SIGNING_KEYS,
        )
        try:
            drawing.start()
            room.start()
            board, placements = mixed(strokes(args.strokes), args.mixed)
            began = time.monotonic()
            with httpx.Client(base_url=f"{drawing.url}/api/v1", timeout=300) as api:
                joined = api.post(f"/sessions/{SESSION}/join", json={"name": "bench"})
                token = joined.raise_for_status().json()
                api.post(
                    f"/sessions/{SESSION}/import",
                    json={"format": "drawnet.board.v1", "strokes": board, "placements": placements},
                    headers={"Authorization": f"Bearer {token['token']}"},
                ).raise_for_status()
            print(f"imported {len(board)} strokes in {time.monotonic() - began:.1f}s", file=sys.stderr)
            kinds = {
                kind: sum(1 for item in board if item["kind"] == kind)
                for kind in ("stroke", "shape", "text", "note")
            }
            results: dict[str, Any] = {
                "strokes": len(board),
                "kinds": kinds,
                "seconds": args.seconds,
                "runs": [],
            }
            with sync_playwright() as driver:
                browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                results["chromium"] = browser.version
                for dpr in args.dpr:
                    context = browser.new_context(
                        viewport={"width": 1280, "height": 800}, device_scale_factor=dpr
                    )
                    context.add_init_script(f"localStorage.setItem('drawnet.prefs', {json.dumps(PREFS)})")
                    page = context.new_page()
                    opened = time.monotonic()
                    page.goto(f"{drawing.url}/s/{SESSION}")
                    page.wait_for_function(
                        f"() => window.__drawnet && window.__drawnet.snapshot().strokes === {len(board)}",
                        timeout=120_000,
                    )
                    loaded = time.monotonic() - opened
                    page.evaluate("window.__drawnet.setCamera({x: -640, y: -400, zoom: 1})")
                    page.wait_for_function("() => window.__drawnet.snapshot().tiles.complete", timeout=60_000)
                    print(f"dpr {dpr:g}: {len(board)} strokes live in {loaded:.2f}s", file=sys.stderr)
                    for mode in ("tiles", "naive"):
                        for scenario in ("pan at 100%", "pan, whole board", "zoom sweep 5%-200%"):
                            page.evaluate("window.__drawnet.setCamera({x: -640, y: -400, zoom: 1})")
                            measured = page.evaluate(DRIVE, [scenario, args.seconds, mode])
                            run = {
                                "dpr": dpr,
                                "mode": mode,
                                "scenario": scenario,
                                "load_seconds": loaded,
                                **summary(measured["intervals"], measured["draws"]),
                                "tiles": measured["tiles"],
                            }
                            results["runs"].append(run)
                            print(f"  {mode:5} {scenario:20} {run['fps']:5.1f} fps", file=sys.stderr)
                    context.close()
                browser.close()
        finally:
            room.stop()
            drawing.stop()
            nats.stop()

    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"frontend-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    out.write_text(json.dumps(results, indent=2))
    print(
        f"\n{results['strokes']:,} items ({results['kinds']}), "
        f"Chromium {results.get('chromium')} headless (software), "
        f"1280 by 800 CSS px, {args.seconds:g} s per move\n"
    )
    print(
        "| dpr | renderer | camera move | fps | frame p50 / p95 / max (ms) | draw p50 / p95 / max (ms)"
        " | frames > 50 ms |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for run in results["runs"]:
        renderer = "tile cache" if run["mode"] == "tiles" else "no cache"
        print(
            f"| {run['dpr']:g} | {renderer} | {run['scenario']} "
            f"| {run['fps']:.0f} | {run['interval_p50_ms']:.1f} / {run['interval_p95_ms']:.1f} / "
            f"{run['interval_max_ms']:.0f} | {run['draw_p50_ms']:.1f} / {run['draw_p95_ms']:.1f} / "
            f"{run['draw_max_ms']:.0f} | {run['long_frames']} |"
        )
    print(f"\nwritten to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
