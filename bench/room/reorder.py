"""What a `reorder` (bring to front, send to back, one step forward or backward) and its undo cost on a big
board, in the Python board the room and the persister apply it with and in board.js as the browser does.

    .venv/bin/python bench/room/reorder.py                         # 10,000, 50,000 and 100,000 items
    .venv/bin/python bench/room/reorder.py --items 100000 --rounds 9

A reorder rebuilds the board's order (linear in its size, hidden items included). For each size it builds a
board of shapes, then times (the median of `--rounds`) one reorder of 100 items scattered over the board,
for each `to`, and the undo of a `forward` one, in-process; board.js runs the same under `node`
(`bench/room/reorder.mjs`). Prints a Markdown table, milliseconds per op.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from drawnet.protocol import AddShape, Board, Committed, Reorder, Undo
from drawnet.protocol.messages import Place

PLACES: tuple[Place, ...] = ("front", "back", "forward", "backward")
MOVED = 100
"""Items one timed reorder names, spread evenly over the board."""


def board_of(items: int) -> Board:
    board = Board()
    for index in range(items):
        op = AddShape(
            id=f"i{index}", shape="rect", x=index % 1000, y=index // 1000, w=8, h=8, color="#1971c2", width=1
        )
        board.apply(Committed(seq=index + 1, by="bench", op=op))
    return board


def python_ms(items: int, rounds: int) -> dict[str, float]:
    board = board_of(items)
    named = [f"i{index}" for index in range(0, items, max(1, items // MOVED))][:MOVED]
    times: dict[str, list[float]] = {place: [] for place in (*PLACES, "undo")}
    for n in range(rounds):
        for place in PLACES:
            op = Reorder(id=f"r{n}{place}", items=named, to=place)
            started = time.perf_counter()
            board.apply(Committed(seq=board.seq + 1, by="bench", op=op))
            times[place].append(time.perf_counter() - started)
        undo = Undo(id=f"u{n}", target=f"r{n}backward")
        started = time.perf_counter()
        board.apply(Committed(seq=board.seq + 1, by="bench", op=undo))
        times["undo"].append(time.perf_counter() - started)
    return {key: statistics.median(values) * 1000 for key, values in times.items()}


def javascript_ms(items: int, rounds: int) -> dict[str, float] | None:
    node = shutil.which("node")
    if node is None:
        return None
    script = Path(__file__).with_name("reorder.mjs")
    command = [node, str(script), str(items), str(rounds), str(MOVED)]
    out = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603 - our own script
    result: dict[str, float] = json.loads(out.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, nargs="+", default=[10_000, 50_000, 100_000])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print("| board | where | front | back | forward | backward | undo |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for items in args.items:
        for where, figures in (
            ("board.py", python_ms(items, args.rounds)),
            ("board.js", javascript_ms(items, args.rounds)),
        ):
            if figures is None:
                print(f"| {items:,} | {where} | (no node) | | | | |")
                continue
            cells = " | ".join(f"{figures[key]:.1f}" for key in (*PLACES, "undo"))
            print(f"| {items:,} | {where} | {cells} |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
