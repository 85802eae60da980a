import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Board, UNDO_DEPTH } from "../../frontend/js/board.js";
import { committedStroke } from "./helpers.mjs";

const ids = (board) => board.strokes.map((stroke) => stroke.id);
const erase = (seq, id, strokes, by = "p") => ({ t: "op", seq, by, op: { kind: "erase", id, strokes } });
const clear = (seq, id, by = "p") => ({ t: "op", seq, by, op: { kind: "clear", id } });
const undo = (seq, id, by, target) => ({ t: "op", seq, by, op: { kind: "undo", id, target } });
const redo = (seq, id, by, target) => ({ t: "op", seq, by, op: { kind: "redo", id, target } });
const entry = (stroke, by = "p") => ({ stroke, seq: 1, by, undone: false, removed_by: [] });
const state = (seq, strokes) => ({ seq, strokes, effects: [], undo: {}, redo: {} });

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
    board.loadState(state(40, [entry(committedStroke(0, "a").op), entry(committedStroke(0, "b").op)]));
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

describe("Board undo and redo", () => {
  it("undoes and redoes the author's own newest op", () => {
    const board = new Board();
    board.apply(committedStroke(1, "a", "ann"));
    board.apply(committedStroke(2, "b", "bob"));
    assert.equal(board.undoTarget("ann"), "a");
    assert.equal(board.undoTarget("bob"), "b");
    assert.ok(board.apply(undo(3, "u1", "ann", "a")));
    assert.deepEqual(ids(board), ["b"]);
    assert.equal(board.undoTarget("ann"), null);
    assert.equal(board.redoTarget("ann"), "a");
    assert.ok(board.apply(redo(4, "r1", "ann", "a")));
    assert.deepEqual(ids(board), ["a", "b"]); // back in its place, below b
    assert.equal(board.redoTarget("ann"), null);
  });

  it("undoes an erase and a clear, bringing the strokes back", () => {
    const board = new Board();
    board.apply(committedStroke(1, "a", "ann"));
    board.apply(committedStroke(2, "b", "bob"));
    board.apply(erase(3, "e", ["a"], "bob"));
    assert.deepEqual(ids(board), ["b"]);
    board.apply(undo(4, "u1", "bob", "e"));
    assert.deepEqual(ids(board), ["a", "b"]);
    board.apply(clear(5, "c", "ann"));
    assert.equal(board.size, 0);
    board.apply(undo(6, "u2", "ann", "c"));
    assert.deepEqual(ids(board), ["a", "b"]);
  });

  it("ignores an undo whose target is not the author's newest", () => {
    const board = new Board();
    board.apply(committedStroke(1, "a", "ann"));
    board.apply(committedStroke(2, "b", "ann"));
    assert.ok(board.apply(undo(3, "u1", "ann", "a"))); // applied (the seq moves on) but does nothing
    assert.deepEqual(ids(board), ["a", "b"]);
    assert.ok(board.apply(undo(4, "u2", "bob", "b"))); // not bob's
    assert.deepEqual(ids(board), ["a", "b"]);
    assert.ok(board.apply(undo(5, "u3", "ann", null)));
    assert.deepEqual(ids(board), ["a", "b"]);
  });

  it("a new op clears the author's redo stack and drops the strokes it could have brought back", () => {
    const board = new Board();
    board.apply(committedStroke(1, "a", "ann"));
    board.apply(undo(2, "u1", "ann", "a"));
    board.apply(committedStroke(3, "b", "ann"));
    assert.equal(board.redoTarget("ann"), null);
    assert.equal(board.state().strokes.some((s) => s.stroke.id === "a"), false);
  });

  it("keeps at most UNDO_DEPTH ops per author", () => {
    const board = new Board();
    for (let i = 1; i <= UNDO_DEPTH + 5; i += 1) board.apply(committedStroke(i, `s${i}`, "ann"));
    const { undo: stacks, effects } = board.state();
    assert.equal(stacks.ann.length, UNDO_DEPTH);
    assert.equal(stacks.ann[0], "s6");
    assert.equal(effects.length, UNDO_DEPTH);
  });

  it("tells its listener what changed", () => {
    const board = new Board();
    const seen = [];
    board.onChange((change) => seen.push(change.type === "reset" ? "reset" : `${change.type}:${change.stroke.id}`));
    board.apply(committedStroke(1, "a", "ann"));
    board.apply(undo(2, "u1", "ann", "a"));
    board.apply(redo(3, "r1", "ann", "a"));
    board.apply(erase(4, "e", ["a", "zz"], "bob"));
    board.reset();
    assert.deepEqual(seen, ["add:a", "hide:a", "show:a", "hide:a", "reset"]);
  });

  it("hashes the visible strokes", () => {
    const one = new Board();
    const two = new Board();
    one.apply(committedStroke(1, "a"));
    two.apply(committedStroke(5, "a"));
    assert.equal(one.hash(), two.hash());
    two.apply(committedStroke(6, "b"));
    assert.notEqual(one.hash(), two.hash());
  });
});

describe("Board parity with the Python Board", () => {
  it("takes the same steps and reaches the same states over a recorded trace", async () => {
    const { readFile } = await import("node:fs/promises");
    const trace = JSON.parse(await readFile(new URL("./fixtures/board-trace.json", import.meta.url), "utf8"));
    let board = new Board();
    trace.deliveries.forEach((delivery, i) => {
      let applied = true;
      if (delivery.snapshot) {
        assert.deepEqual(board.state(), delivery.snapshot, `state before delivery ${i}`);
        board = new Board();
        board.loadState(structuredClone(delivery.snapshot));
      } else {
        applied = board.apply(delivery);
      }
      assert.deepEqual([applied, board.seq, board.size], trace.steps[i], `delivery ${i}`);
    });
    assert.deepEqual(ids(board), trace.strokes);
    assert.deepEqual(board.state(), trace.state);
    for (const [author, target] of Object.entries(trace.undo_targets)) assert.equal(board.undoTarget(author), target);
    for (const [author, target] of Object.entries(trace.redo_targets)) assert.equal(board.redoTarget(author), target);
  });
});
