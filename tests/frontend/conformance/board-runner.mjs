// Applies op sequences to frontend/js/board.js for tests/unit/test_board_conformance.py: one JSON request
// per line on stdin (`{"ops": [committed, ...], "snapshot_at": n | null}`), one JSON answer per line on
// stdout: what board.js built (`placed`, `state`, the undo and redo targets of every author, `hash`).
import { createInterface } from "node:readline";

import { Board } from "../../../frontend/js/board.js";

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  const { ops, snapshot_at: snapshotAt, authors } = JSON.parse(line);
  let board = new Board();
  const applied = [];
  ops.forEach((committed, i) => {
    if (i === snapshotAt) {
      // A late joiner's board: loaded from the state so far (as JSON, as a welcome brings it).
      const loaded = new Board();
      loaded.loadState(JSON.parse(JSON.stringify(board.state())));
      board = loaded;
    }
    applied.push(board.apply(committed));
  });
  const targets = Object.fromEntries(authors.map((a) => [a, [board.undoTarget(a), board.redoTarget(a)]]));
  process.stdout.write(`${JSON.stringify({ applied, placed: board.placed(), state: board.state(), targets, size: board.size })}\n`);
}
