"""How long a room takes to turn the drawing service's snapshot of a big board into its live board, with
Python's cyclic garbage collector on (as it was) and off (as the room does it now), side by side in one run.

    .venv/bin/python bench/room/load.py                    # 50,000 strokes of 24 points, 5 rounds
    .venv/bin/python bench/room/load.py --strokes 10000 --rounds 3

It builds a board of `--strokes` strokes, encodes its state as the drawing service serves it, then times
(the median of `--rounds`, alternating the two modes) the room's decode of that JSON and its board build
(`drawnet.room.sessions`' own decoder and `Board.from_state`), and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time

from drawnet.protocol import AddStroke, Board, Committed, encode
from drawnet.room.sessions import _state_decoder  # the room's own snapshot decoder


def big_board(strokes: int, points: int) -> Board:
    rng = random.Random(7)
    board = Board()
    for index in range(strokes):
        x, y = rng.uniform(0, 4000), rng.uniform(0, 3000)
        pts = []
        for _ in range(points):
            x, y = x + rng.uniform(-4, 4), y + rng.uniform(-4, 4)
            pts.append((round(x, 2), round(y, 2), 0.5))
        op = AddStroke(id=f"s{index}", tool="pen", color="#1971c2", width=4.0, opacity=1.0, pts=pts)
        board.apply(Committed(seq=index + 1, by="bench", op=op))
    return board


def one_round(body: bytes, *, collect: bool) -> tuple[float, float]:
    """(decode seconds, build seconds) of one load."""
    (gc.enable if collect else gc.disable)()
    try:
        began = time.perf_counter()
        state = _state_decoder.decode(body)
        decoded = time.perf_counter()
        board = Board.from_state(state)
        built = time.perf_counter()
    finally:
        gc.enable()
    del board, state
    gc.collect()
    return decoded - began, built - decoded


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--strokes", type=int, default=50_000)
    parser.add_argument("--points", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    body = encode(big_board(args.strokes, args.points).state())
    gc.collect()
    times: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    for _ in range(args.rounds):
        for collect in (True, False):
            times[collect].append(one_round(body, collect=collect))
    out = sys.stdout.write
    out(f"# bench/room/load: a {args.strokes:,}-stroke snapshot ({len(body) / 1e6:.1f} MB of JSON), ")
    out(f"median of {args.rounds} rounds\n\n")
    out("| GC | decode | board build | in all |\n| --- | ---: | ---: | ---: |\n")
    for collect, label in ((True, "on (before)"), (False, "off (the room now)")):
        decode = statistics.median(t[0] for t in times[collect])
        build = statistics.median(t[1] for t in times[collect])
        out(f"| {label} | {decode:.3f} s | {build:.3f} s | {decode + build:.3f} s |\n")
    before = statistics.median(sum(t) for t in times[True])
    after = statistics.median(sum(t) for t in times[False])
    out(f"\nWith the collector off the load takes {after / before:.2f} of the time it took with it on.\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
