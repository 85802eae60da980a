// The timeline: the board at any point of its history, the same whichever way it got there.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Board } from "../../frontend/js/board.js";
import { CHECKPOINT_OPS, Timeline, when } from "../../frontend/js/history.js";

/** @param {number} count */
function entries(count) {
  const out = [];
  for (let i = 0; i < count; i += 1) {
    const op =
      i % 7 === 6
        ? { kind: "erase", id: `e${i}`, strokes: [`s${i - 3}`] }
        : i % 5 === 4
          ? { kind: "transform", id: `t${i}`, items: [`s${i - 1}`], m: [1, 0, 0, 1, 2, 3] }
          : { kind: "stroke", id: `s${i}`, tool: "pen", color: "#1e1e1e", width: 2, opacity: 1, pts: [[i, i, 0.5]] };
    out.push({ seq: 10 + 2 * i, by: i % 2 ? "u1" : "guest:2", ts: 1_700_000_000 + i, op });
  }
  return out;
}

/** @param {ReturnType<typeof entries>} list @param {number} upTo */
function fresh(list, upTo) {
  const board = new Board();
  for (const entry of list.slice(0, upTo)) board.apply({ t: "op", seq: entry.seq, by: entry.by, op: /** @type {any} */ (entry.op) });
  return board.hash();
}

describe("the timeline", () => {
  it("shows the board at any point, forwards and backwards, past checkpoints", () => {
    const list = entries(2 * CHECKPOINT_OPS + 300);
    const timeline = new Timeline(/** @type {any} */ (list));
    for (const to of [list.length, 3, CHECKPOINT_OPS + 17, 0, 2 * CHECKPOINT_OPS, 2 * CHECKPOINT_OPS - 1, list.length, 1]) {
      timeline.moveTo(to);
      assert.equal(timeline.position, to);
      assert.equal(timeline.board.hash(), fresh(list, to), `at ${to}`);
    }
    assert.deepEqual([...timeline.checkpoints.keys()].sort((a, b) => a - b), [0, CHECKPOINT_OPS, 2 * CHECKPOINT_OPS]);
  });

  it("names the op shown, its seq, and who added an item", () => {
    const list = entries(10);
    const timeline = new Timeline(/** @type {any} */ (list));
    assert.equal(timeline.seq, 0);
    timeline.moveTo(3);
    assert.equal(timeline.current?.op.id, "s2");
    assert.equal(timeline.seq, 14);
    assert.equal(timeline.addedBy("s1")?.by, "u1");
    assert.equal(timeline.addedBy("nothing"), null);
    timeline.moveTo(-5);
    assert.equal(timeline.position, 0);
  });

  it("says when, with the date only when it was not today", () => {
    const now = new Date(2026, 11, 7, 15, 0, 0);
    assert.doesNotMatch(when(new Date(2026, 11, 7, 14, 3, 21).getTime() / 1000, now), /2026/);
    assert.match(when(new Date(2026, 10, 1, 9, 0, 0).getTime() / 1000, now), /2026/);
  });
});
