// The board: the state that the ordered log of committed ops builds. A mirror of the Python `Board`
// (services/protocol/drawnet/protocol/board.py): ops apply in seq order, exactly once per op id, and an op
// at or below the board's seq is already in it. Pure: no DOM.

import { OpKind } from "./protocol.js";

/** @typedef {import("./protocol.js").StrokeOp} Stroke */
/** @typedef {import("./protocol.js").Committed} Committed */
/** @typedef {import("./protocol.js").Op} Op */

export class Board {
  /** The sequence number of the last op applied (or skipped as already applied). */
  seq = 0;

  /**
   * Bumped whenever strokes are removed (erase, clear, reset): a renderer that only appended since the
   * last epoch can draw the new strokes on top of what it has; otherwise it redraws everything.
   */
  epoch = 0;

  /** @type {Map<string, Stroke>} strokes by id, in the order they were committed */
  #strokes = new Map();

  /** @type {Set<string>} */
  #opIds = new Set();

  /**
   * Replace everything with a welcome's snapshot: these strokes, at `seq` (Python: `Board.from_snapshot`).
   * @param {number} seq
   * @param {Stroke[]} strokes
   */
  loadSnapshot(seq, strokes) {
    this.seq = seq;
    this.epoch += 1;
    this.#opIds.clear();
    this.#strokes = new Map(strokes.map((stroke) => [stroke.id, stroke]));
  }

  /**
   * Apply one committed op; false when it was already applied (same seq or same op id).
   * @param {Committed} committed
   * @returns {boolean}
   */
  apply(committed) {
    const { op, seq } = committed;
    // A stroke from a snapshot is an op this board holds without having applied it.
    if (seq <= this.seq || this.#opIds.has(op.id) || this.#strokes.has(op.id)) {
      this.seq = Math.max(this.seq, seq);
      return false;
    }
    this.seq = seq;
    this.#opIds.add(op.id);
    this.#applyOp(op);
    return true;
  }

  /** @param {Op} op */
  #applyOp(op) {
    switch (op.kind) {
      case OpKind.STROKE:
        this.#strokes.set(op.id, op);
        break;
      case OpKind.ERASE: {
        let removed = false;
        for (const target of op.strokes) removed = this.#strokes.delete(target) || removed;
        if (removed) this.epoch += 1;
        break;
      }
      case OpKind.CLEAR:
        if (this.#strokes.size > 0) this.epoch += 1;
        this.#strokes.clear();
        break;
    }
  }

  /**
   * Whether the op is in this board (applied, or a stroke that came in a snapshot).
   * @param {string} opId
   */
  hasOp(opId) {
    return this.#opIds.has(opId) || this.#strokes.has(opId);
  }

  /** @param {string} strokeId */
  getStroke(strokeId) {
    return this.#strokes.get(strokeId);
  }

  /** @returns {Stroke[]} the visible strokes, in commit order */
  get strokes() {
    return [...this.#strokes.values()];
  }

  /** Number of visible strokes. */
  get size() {
    return this.#strokes.size;
  }

  /** Forget everything (the log this board followed is gone: start again from seq 0). */
  reset() {
    this.seq = 0;
    this.epoch += 1;
    this.#strokes.clear();
    this.#opIds.clear();
  }
}
