import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Board } from "../../frontend/js/board.js";
import { committedStroke } from "./helpers.mjs";

const ids = (board) => board.strokes.map((stroke) => stroke.id);
const erase = (seq, id, strokes) => ({ t: "op", seq, by: "p", op: { kind: "erase", id, strokes } });
const clear = (seq, id) => ({ t: "op", seq, by: "p", op: { kind: "clear", id } });

describe("Board", () => {
  it("applies strokes in commit order and follows the seq", () => {
    const board = new Board();
    assert.ok(board.apply(committedStroke(1, "a")));
    assert.ok(board.apply(committedStroke(5, "b"))); // seqs of one session need not be contiguous
    assert.deepEqual(ids(board), ["a", "b"]);
    assert.equal(board.seq, 5);
    assert.equal(board.size, 2);
    assert.ok(board.hasOp("a"));
    assert.equal(board.getStroke("b")?.id, "b");
  });

  it("ignores an op at or below its seq", () => {
    const board = new Board();
    board.apply(committedStroke(4, "a"));
    assert.equal(board.apply(committedStroke(4, "b")), false);
    assert.equal(board.apply(committedStroke(2, "c")), false);
    assert.deepEqual(ids(board), ["a"]);
    assert.equal(board.seq, 4);
  });

  it("applies an op id once, but still follows a higher seq", () => {
    const board = new Board();
    board.apply(committedStroke(1, "a"));
    assert.equal(board.apply(committedStroke(2, "a")), false);
    assert.equal(board.seq, 2);
    assert.deepEqual(ids(board), ["a"]);
  });

  it("erases named strokes and ignores unknown ones", () => {
    const board = new Board();
    board.apply(committedStroke(1, "a"));
    board.apply(committedStroke(2, "b"));
    board.apply(committedStroke(3, "c"));
    const epoch = board.epoch;
    assert.ok(board.apply(erase(4, "e1", ["b", "nope"])));
    assert.deepEqual(ids(board), ["a", "c"]);
    assert.ok(board.epoch > epoch);
    assert.ok(board.hasOp("e1"));
  });

  it("clears everything, and op ids stay known after a clear", () => {
    const board = new Board();
    board.apply(committedStroke(1, "a"));
    board.apply(clear(2, "x"));
    assert.equal(board.size, 0);
    assert.equal(board.apply(committedStroke(3, "a")), false);
    assert.ok(board.apply(committedStroke(4, "b")));
    assert.deepEqual(ids(board), ["b"]);
  });

  it("only bumps its epoch when strokes go away", () => {
    const board = new Board();
    const start = board.epoch;
    board.apply(committedStroke(1, "a"));
    board.apply(erase(2, "e", ["zzz"]));
    assert.equal(board.epoch, start);
  });

  it("reaches the same state whatever the redelivery", () => {
    const log = [committedStroke(1, "a"), committedStroke(2, "b"), erase(3, "e", ["a"]), committedStroke(4, "c")];
    const once = new Board();
    for (const op of log) once.apply(op);
    const twice = new Board();
    for (const op of [...log.slice(0, 2), ...log, ...log]) twice.apply(op);
    assert.deepEqual(twice.strokes, once.strokes);
    assert.equal(twice.seq, once.seq);
  });

  it("takes a snapshot's strokes as applied", () => {
    const board = new Board();
    board.apply(committedStroke(1, "old"));
    const epoch = board.epoch;
    board.loadSnapshot(40, [committedStroke(0, "a").op, committedStroke(0, "b").op]);
    assert.deepEqual(ids(board), ["a", "b"]);
    assert.equal(board.seq, 40);
    assert.ok(board.epoch > epoch);
    assert.ok(board.hasOp("a"));
    assert.equal(board.hasOp("old"), false);
    assert.equal(board.apply(committedStroke(41, "a")), false); // held already, even at a higher seq
    assert.equal(board.seq, 41);
    assert.ok(board.apply(committedStroke(42, "c")));
  });

  it("reset forgets everything", () => {
    const board = new Board();
    board.apply(committedStroke(7, "a"));
    board.reset();
    assert.equal(board.seq, 0);
    assert.equal(board.size, 0);
    assert.ok(board.apply(committedStroke(1, "a")));
  });
});

describe("Board parity with the Python Board", () => {
  it("takes the same steps over a recorded trace with redeliveries", async () => {
    const { readFile } = await import("node:fs/promises");
    const trace = JSON.parse(await readFile(new URL("./fixtures/board-trace.json", import.meta.url), "utf8"));
    const board = new Board();
    trace.deliveries.forEach((delivery, i) => {
      let applied = true;
      if (delivery.snapshot) board.loadSnapshot(delivery.snapshot.seq, delivery.snapshot.strokes);
      else applied = board.apply(delivery);
      assert.deepEqual([applied, board.seq, board.size], trace.steps[i], `delivery ${i}`);
    });
    assert.deepEqual(ids(board), trace.strokes);
  });
});
