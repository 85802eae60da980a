// The board: the state that the ordered log of committed ops builds. A faithful mirror of the Python
// `Board` (services/protocol/drawnet/protocol/board.py); tests/frontend/fixtures/board-trace.json, made by
// the Python one, keeps the two in step. Pure: no DOM.
//
// - Applying is idempotent per op id (exactly once) and monotonic in seq (an op at or below the board's seq
//   is already in it).
// - `stroke`, `shape`, `text`, `note` and `image` add an item on top; `erase` removes the named items that are
//   visible; `clear` every visible one.
// - `transform` applies its matrix after the transform each named visible item has (compose(), the same
//   float operations in the same order as board.py's, so both reach the same bits); undoing it applies
//   the inverse matrix, redoing it the matrix again. `edit` replaces a visible text's or note's text.
// - `reorder` moves the named visible items in the stacking order (reorder() below, board.py's, step for
//   step); undoing it puts each back just above the item that was below it (restore()), redoing moves again.
// - `undo` and `redo` act on their author's own ops (the author is the committed op's `by`: a user id),
//   newest first: each author has an undo and a redo stack of at most UNDO_DEPTH ops; a new op clears its
//   author's redo stack. The room names the target before logging, so the log says what happens.
// - An op that leaves both stacks can no longer be undone or redone: strokes it hid for good are dropped.

import { ITEM_KINDS, OpKind } from "./protocol.js";

/** An item: the op that added it (named Stroke for the first kind). @typedef {import("./protocol.js").ItemOp} Stroke */
/** @typedef {import("./protocol.js").Matrix} Matrix */
/** @typedef {import("./protocol.js").Committed} Committed */
/** @typedef {import("./protocol.js").BoardState} BoardState */
/** @typedef {import("./protocol.js").StrokeEntry} StrokeEntry */
/** @typedef {import("./protocol.js").Effect} EffectState */

/** Ops per author that can be undone (and as many that can be redone): board.py's UNDO_DEPTH. */
export const UNDO_DEPTH = 100;

/** @type {readonly string[]} effect kinds of ops that add an item: undoing them hides it */
const ADDS = ITEM_KINDS;

/**
 * `m` after `n` (null: no transform): board.py's `compose`, operation for operation.
 * @param {Matrix} m
 * @param {Matrix | null} n
 * @returns {Matrix}
 */
export function compose(m, n) {
  if (n === null) return m;
  return [
    m[0] * n[0] + m[2] * n[1],
    m[1] * n[0] + m[3] * n[1],
    m[0] * n[2] + m[2] * n[3],
    m[1] * n[2] + m[3] * n[3],
    m[0] * n[4] + m[2] * n[5] + m[4],
    m[1] * n[4] + m[3] * n[5] + m[5],
  ];
}

/** @param {Matrix} m */
export function determinant(m) {
  return m[0] * m[3] - m[1] * m[2];
}

/**
 * The inverse of a matrix whose determinant is not 0: board.py's `invert`.
 * @param {Matrix} m
 * @returns {Matrix}
 */
export function invert(m) {
  const [a, b, c, d, e, f] = m;
  const det = a * d - b * c;
  return [d / det, -b / det, -c / det, a / det, (c * f - d * e) / det, (b * e - a * f) / det];
}

/**
 * What a change did to the visible board, for a renderer that redraws only what changed:
 * `add`: an item appeared on top; `show` / `hide`: an item appeared below others or went away; `change`:
 * a visible item moved or its text changed; `order`: the stacking order changed (`moved`: the items that
 * moved, so what overlaps them is drawn again); `reset`: everything may have changed.
 * @typedef {{type: "add" | "show" | "hide" | "change", stroke: Stroke} | {type: "order", moved: string[]} | {type: "reset"}} BoardChange
 */

/**
 * The stacking order (ids bottom to top) after a `reorder` of `targets` `to` (board.py's `reorder`):
 * `front` / `back`: the targets go to the top / the bottom in the order they had; `forward`: from the
 * bottom up, targets are carried along until the next entry that is visible and not a target, and put
 * just above it; `backward`: the same from the top down, just below it. Linear in the board's size.
 * @param {string[]} order
 * @param {string[]} targets
 * @param {string} to
 * @param {(id: string) => boolean} visible
 * @returns {string[]}
 */
export function reorder(order, targets, to, visible) {
  const moving = new Set(targets);
  if (to === "front" || to === "back") {
    const rest = order.filter((id) => !moving.has(id));
    const moved = order.filter((id) => moving.has(id));
    return to === "front" ? [...rest, ...moved] : [...moved, ...rest];
  }
  const scan = to === "forward" ? order : [...order].reverse();
  /** @type {string[]} */
  const out = [];
  /** @type {string[]} */
  let carried = [];
  for (const id of scan) {
    if (moving.has(id)) {
      carried.push(id);
      continue;
    }
    out.push(id);
    if (carried.length > 0 && visible(id)) {
      out.push(...carried);
      carried = [];
    }
  }
  out.push(...carried);
  return to === "forward" ? out : out.reverse();
}

/**
 * The stacking order after undoing a reorder (board.py's `restore`): each target still in `order` goes
 * just above the entry that was below it (`below`, aligned with `targets`; null: to the bottom); a target
 * whose neighbour is gone for good stays where it is.
 * @param {string[]} order
 * @param {string[]} targets
 * @param {(string | null)[]} below
 * @returns {string[]}
 */
export function restore(order, targets, below) {
  const held = new Set(order);
  /** @type {Map<string | null, string>} */
  const above = new Map();
  targets.forEach((target, i) => {
    const neighbour = below[i] ?? null;
    if (held.has(target) && (neighbour === null || held.has(neighbour))) above.set(neighbour, target);
  });
  const moving = new Set(above.values());
  const pending = new Set(moving);
  /** @type {string[]} */
  const out = [];
  /** @param {string | null} entry */
  const put = (entry) => {
    for (let next = above.get(entry); next !== undefined && pending.has(next); next = above.get(next)) {
      pending.delete(next);
      out.push(next);
    }
  };
  put(null);
  for (const id of order) {
    if (moving.has(id)) continue;
    out.push(id);
    put(id);
  }
  for (const id of order) if (pending.has(id)) out.push(id); // only a malformed history leaves any
  return out;
}

class Entry {
  /**
   * @param {Stroke} stroke
   * @param {number} seq
   * @param {string} by
   */
  constructor(stroke, seq, by) {
    this.stroke = stroke;
    this.seq = seq;
    this.by = by;
    this.undone = false;
    /** @type {Set<string>} ids of the erase and clear ops that hide it */
    this.removedBy = new Set();
    /** @type {Matrix | null} its transform */
    this.m = null;
    /** @type {string | null} its text, when an edit changed it */
    this.text = null;
  }

  get visible() {
    return !this.undone && this.removedBy.size === 0;
  }
}

class Effect {
  /**
   * @param {string} id
   * @param {string} by
   * @param {string} kind
   * @param {string[]} targets
   * @param {Matrix | null} [m] a transform's matrix
   * @param {string[] | null} [texts] an edit's text before and after
   * @param {string | null} [to] a reorder's `to`
   * @param {(string | null)[] | null} [below] a reorder's items' neighbours below before it was (re)done
   */
  constructor(id, by, kind, targets, m = null, texts = null, to = null, below = null) {
    this.id = id;
    this.by = by;
    this.kind = kind;
    this.targets = targets;
    this.undone = false;
    this.m = m;
    this.texts = texts;
    this.to = to;
    this.below = below;
  }
}

export class Board {
  /** The sequence number of the last op applied (or skipped as already applied). */
  seq = 0;

  /** Bumped whenever strokes go away or come back (anything but a stroke added on top). */
  epoch = 0;

  /** Bumped on every change to the visible board. */
  version = 0;

  /** @type {Map<string, Entry>} by stroke id, bottom to top */
  #strokes = new Map();
  /** @type {Map<string, number>} */
  #opSeqs = new Map();
  /** @type {Map<string, Effect>} */
  #effects = new Map();
  /** @type {Map<string, string[]>} */
  #undo = new Map();
  /** @type {Map<string, string[]>} */
  #redo = new Map();
  #visible = 0;
  /** @type {((change: BoardChange) => void) | null} */
  #listener = null;

  /**
   * Be told of every change to the visible board (one listener: the renderer).
   * @param {((change: BoardChange) => void) | null} listener
   */
  onChange(listener) {
    this.#listener = listener;
  }

  // ------------------------------------------------------------------------------------- reading

  /** @returns {Stroke[]} the visible strokes, bottom to top */
  get strokes() {
    /** @type {Stroke[]} */
    const visible = [];
    for (const entry of this.#strokes.values()) if (entry.visible) visible.push(entry.stroke);
    return visible;
  }

  /** @returns {Stroke[]} every stroke the board holds, hidden ones too (they may come back), bottom to top */
  allStrokes() {
    return [...this.#strokes.values()].map((entry) => entry.stroke);
  }

  /** Number of visible strokes. */
  get size() {
    return this.#visible;
  }

  /** @param {string} strokeId the stroke, if it is visible */
  getStroke(strokeId) {
    const entry = this.#strokes.get(strokeId);
    return entry?.visible ? entry.stroke : undefined;
  }

  /**
   * Where a visible item is and what it says now: its transform (null: none) and edited text (null: its own).
   * @param {string} itemId
   * @returns {{m: Matrix | null, text: string | null} | undefined}
   */
  placement(itemId) {
    const entry = this.#strokes.get(itemId);
    return entry?.visible ? { m: entry.m, text: entry.text } : undefined;
  }

  /**
   * The visible items bottom to top with their transforms and edited texts: board.py's `placed()`.
   * @returns {[Stroke, Matrix | null, string | null][]}
   */
  placed() {
    /** @type {[Stroke, Matrix | null, string | null][]} */
    const out = [];
    for (const entry of this.#strokes.values()) if (entry.visible) out.push([entry.stroke, entry.m, entry.text]);
    return out;
  }

  /** @param {string} strokeId who committed the stroke (a user id), if the board holds it */
  authorOf(strokeId) {
    return this.#strokes.get(strokeId)?.by;
  }

  /** @param {string} opId the sequence number at which this board applied the op */
  seqOf(opId) {
    return this.#opSeqs.get(opId);
  }

  /**
   * Whether the op is in this board: applied here, or a stroke that came in a snapshot.
   * @param {string} opId
   */
  hasOp(opId) {
    return this.#opSeqs.has(opId) || this.#strokes.has(opId);
  }

  /** @param {string} author the op an undo by `author` would undo now: their newest op still done */
  undoTarget(author) {
    return this.#undo.get(author)?.at(-1) ?? null;
  }

  /** @param {string} author the op a redo by `author` would redo now: their newest undone op */
  redoTarget(author) {
    return this.#redo.get(author)?.at(-1) ?? null;
  }

  /** A short digest of the visible board (item ids in order, their transforms and edited texts). */
  hash() {
    // FNV-1a, 32 bits: for test hooks and quick comparisons, not for security.
    let hash = 0x811c9dc5;
    for (const entry of this.#strokes.values()) {
      if (!entry.visible) continue;
      let id = entry.stroke.id;
      if (entry.m) id += `@${entry.m.join(",")}`;
      if (entry.text !== null) id += `#${entry.text}`;
      for (let i = 0; i < id.length; i += 1) hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193);
      hash = Math.imul(hash ^ 0x2c, 0x01000193);
    }
    return (hash >>> 0).toString(16).padStart(8, "0");
  }

  // ------------------------------------------------------------------------------------- applying

  /**
   * Apply one committed op; false when it was already applied (same seq or same op id).
   * @param {Committed} committed
   * @returns {boolean}
   */
  apply(committed) {
    const { op, seq, by } = committed;
    if (seq <= this.seq || this.hasOp(op.id)) {
      this.seq = Math.max(this.seq, seq);
      return false;
    }
    this.seq = seq;
    this.#opSeqs.set(op.id, seq);
    switch (op.kind) {
      case OpKind.STROKE:
      case OpKind.SHAPE:
      case OpKind.TEXT:
      case OpKind.NOTE:
      case OpKind.IMAGE: {
        const entry = new Entry(op, seq, by);
        this.#strokes.set(op.id, entry);
        this.#visible += 1;
        this.#emit({ type: "add", stroke: op });
        this.#done(new Effect(op.id, by, op.kind, [op.id]));
        break;
      }
      case OpKind.TRANSFORM: {
        const targets = [...new Set(op.items)].filter((id) => this.#strokes.get(id)?.visible);
        this.#transform(targets, op.m);
        this.#done(new Effect(op.id, by, "transform", targets, [...op.m]));
        break;
      }
      case OpKind.REORDER: {
        const targets = [...new Set(op.items)].filter((id) => this.#strokes.get(id)?.visible);
        const below = this.#reorder(targets, op.to);
        this.#done(new Effect(op.id, by, "reorder", targets, null, null, op.to, below));
        break;
      }
      case OpKind.EDIT: {
        const entry = this.#strokes.get(op.item);
        const item = entry?.stroke;
        if (!entry || !entry.visible || !item || (item.kind !== OpKind.TEXT && item.kind !== OpKind.NOTE)) {
          this.#done(new Effect(op.id, by, "edit", []));
          break;
        }
        const before = entry.text ?? item.text;
        this.#setText(entry, op.text);
        this.#done(new Effect(op.id, by, "edit", [op.item], null, [before, op.text]));
        break;
      }
      case OpKind.ERASE: {
        const targets = [...new Set(op.strokes)].filter((id) => this.#strokes.get(id)?.visible);
        this.#remove(op.id, targets);
        this.#done(new Effect(op.id, by, "erase", targets));
        break;
      }
      case OpKind.CLEAR: {
        const targets = [...this.#strokes.values()].filter((e) => e.visible).map((e) => e.stroke.id);
        this.#remove(op.id, targets);
        this.#done(new Effect(op.id, by, "clear", targets));
        break;
      }
      case OpKind.UNDO: {
        const target = op.target ?? null;
        const effect = target === null ? undefined : this.#effects.get(target);
        if (effect && this.undoTarget(by) === target) {
          this.#setUndone(effect, true);
          this.#undo.get(by)?.pop();
          this.#stack(this.#redo, by).push(effect.id);
        }
        break;
      }
      case OpKind.REDO: {
        const target = op.target ?? null;
        const effect = target === null ? undefined : this.#effects.get(target);
        if (effect && this.redoTarget(by) === target) {
          this.#setUndone(effect, false);
          this.#redo.get(by)?.pop();
          this.#push(this.#stack(this.#undo, by), effect.id);
        }
        break;
      }
    }
    return true;
  }

  /**
   * @param {string[]} targets
   * @param {Matrix} m
   */
  #transform(targets, m) {
    for (const target of targets) {
      const entry = this.#strokes.get(target);
      if (!entry) continue;
      entry.m = compose(m, entry.m);
      if (entry.visible) this.#emit({ type: "change", stroke: entry.stroke });
    }
  }

  /**
   * Move the targets `to`; what was below each of them before (for its undo).
   * @param {string[]} targets
   * @param {string} to
   * @returns {(string | null)[]}
   */
  #reorder(targets, to) {
    const order = [...this.#strokes.keys()];
    const wanted = new Set(targets);
    /** @type {Map<string, string | null>} what is below each target that the board holds */
    const belowOf = new Map();
    for (let i = 0; i < order.length; i += 1) if (wanted.has(order[i])) belowOf.set(order[i], i > 0 ? order[i - 1] : null);
    const visible = (/** @type {string} */ id) => this.#strokes.get(id)?.visible === true;
    this.#order(reorder(order, targets.filter((id) => belowOf.has(id)), to, visible), targets, order);
    return targets.map((id) => belowOf.get(id) ?? null);
  }

  /**
   * @param {string[]} order the new stacking order of every entry
   * @param {string[]} moved
   * @param {string[]} [before] the order now, when the caller has it
   */
  #order(order, moved, before = [...this.#strokes.keys()]) {
    if (order.length === before.length && order.every((id, i) => id === before[i])) return;
    const entries = this.#strokes;
    this.#strokes = new Map(order.map((id) => [id, /** @type {Entry} */ (entries.get(id))]));
    this.epoch += 1;
    this.#emit({ type: "order", moved: moved.filter((id) => this.#strokes.get(id)?.visible) });
  }

  /**
   * @param {Entry} entry
   * @param {string} text
   */
  #setText(entry, text) {
    entry.text = text;
    if (entry.visible) this.#emit({ type: "change", stroke: entry.stroke });
  }

  /**
   * @param {string} remover
   * @param {string[]} targets
   */
  #remove(remover, targets) {
    for (const target of targets) {
      const entry = /** @type {Entry} */ (this.#strokes.get(target));
      this.#change(entry, () => entry.removedBy.add(remover));
    }
  }

  /**
   * @param {Effect} effect
   * @param {boolean} undone
   */
  #setUndone(effect, undone) {
    effect.undone = undone;
    if (effect.kind === "transform" && effect.m) {
      this.#transform(effect.targets, undone ? invert(/** @type {Matrix} */ (effect.m)) : /** @type {Matrix} */ (effect.m));
      return;
    }
    if (effect.kind === "reorder") {
      if (!undone && effect.to !== null) effect.below = this.#reorder(effect.targets, effect.to);
      else if (undone && effect.below) this.#order(restore([...this.#strokes.keys()], effect.targets, effect.below), effect.targets);
      return;
    }
    if (effect.kind === "edit") {
      const entry = effect.targets.length > 0 ? this.#strokes.get(effect.targets[0]) : undefined;
      if (entry && effect.texts) this.#setText(entry, undone ? effect.texts[0] : effect.texts[1]);
      return;
    }
    for (const target of effect.targets) {
      const entry = this.#strokes.get(target);
      if (!entry) continue;
      if (ADDS.includes(effect.kind)) this.#change(entry, () => (entry.undone = undone));
      else if (undone) this.#change(entry, () => entry.removedBy.delete(effect.id));
      else this.#change(entry, () => entry.removedBy.add(effect.id));
    }
  }

  /**
   * Change an entry, keeping the visible count and telling the listener when its visibility flipped.
   * @param {Entry} entry
   * @param {() => void} change
   */
  #change(entry, change) {
    const before = entry.visible;
    change();
    if (entry.visible === before) return;
    this.#visible += entry.visible ? 1 : -1;
    this.epoch += 1;
    this.#emit({ type: entry.visible ? "show" : "hide", stroke: entry.stroke });
  }

  /**
   * A new op by its author: undoable; whatever the author could redo is gone for good.
   * @param {Effect} effect
   */
  #done(effect) {
    // Dropped first: an op applied again after a snapshot (which does not carry the op ids before it) may
    // have the id of one in the redo stack. board.py's `_done` does the same.
    const dropped = this.#redo.get(effect.by) ?? [];
    this.#redo.delete(effect.by);
    for (const id of dropped) this.#finalize(id);
    this.#effects.set(effect.id, effect);
    this.#push(this.#stack(this.#undo, effect.by), effect.id);
  }

  /**
   * @param {Map<string, string[]>} stacks
   * @param {string} author
   */
  #stack(stacks, author) {
    let stack = stacks.get(author);
    if (!stack) stacks.set(author, (stack = []));
    return stack;
  }

  /**
   * @param {string[]} stack
   * @param {string} opId
   */
  #push(stack, opId) {
    stack.push(opId);
    if (stack.length > UNDO_DEPTH) this.#finalize(/** @type {string} */ (stack.shift()));
  }

  /**
   * The op can no longer be undone or redone: drop it and the strokes it hid for good.
   * @param {string} opId
   */
  #finalize(opId) {
    const effect = this.#effects.get(opId);
    if (!effect) return;
    this.#effects.delete(opId);
    if (!ADDS.includes(effect.kind) && effect.kind !== "erase" && effect.kind !== "clear") return;
    const gone = ADDS.includes(effect.kind) ? effect.undone : !effect.undone;
    if (!gone) return;
    for (const target of effect.targets) {
      const entry = this.#strokes.get(target);
      if (!entry) continue;
      this.#strokes.delete(target);
      // Hidden for good: normally invisible already, but the Python board drops it either way.
      if (entry.visible) {
        this.#visible -= 1;
        this.epoch += 1;
        this.#emit({ type: "hide", stroke: entry.stroke });
      }
    }
  }

  /** @param {BoardChange} change */
  #emit(change) {
    this.version += 1;
    this.#listener?.(change);
  }

  // ------------------------------------------------------------------------------------- snapshots

  /** @returns {BoardState} everything a late joiner needs to continue from here (board.py's `state()`) */
  state() {
    /** @type {Record<string, string[]>} */
    const undo = {};
    for (const [author, stack] of this.#undo) if (stack.length > 0) undo[author] = [...stack];
    /** @type {Record<string, string[]>} */
    const redo = {};
    for (const [author, stack] of this.#redo) if (stack.length > 0) redo[author] = [...stack];
    return {
      seq: this.seq,
      strokes: [...this.#strokes.values()].map((entry) => ({
        stroke: entry.stroke,
        seq: entry.seq,
        by: entry.by,
        undone: entry.undone,
        removed_by: [...entry.removedBy].sort(),
        m: entry.m ? /** @type {Matrix} */ ([...entry.m]) : null,
        text: entry.text,
      })),
      effects: [...this.#effects.values()].map((e) => ({
        id: e.id,
        by: e.by,
        kind: e.kind,
        targets: [...e.targets],
        undone: e.undone,
        m: e.m ? /** @type {Matrix} */ ([...e.m]) : null,
        texts: e.texts ? [...e.texts] : null,
        to: e.to,
        below: e.below ? [...e.below] : null,
      })),
      undo,
      redo,
    };
  }

  /**
   * Replace everything with a snapshot (a welcome's, or the drawing service's): board.py's `from_state`.
   * @param {BoardState} state
   */
  loadState(state) {
    this.seq = state.seq;
    this.#opSeqs.clear();
    this.#strokes.clear();
    this.#effects.clear();
    this.#undo.clear();
    this.#redo.clear();
    this.#visible = 0;
    for (const item of state.strokes) {
      const entry = new Entry(item.stroke, item.seq, item.by);
      entry.undone = item.undone ?? false;
      entry.removedBy = new Set(item.removed_by ?? []);
      entry.m = item.m && item.m.length === 6 ? /** @type {Matrix} */ ([...item.m]) : null;
      entry.text = item.text ?? null;
      this.#strokes.set(item.stroke.id, entry);
      if (entry.visible) this.#visible += 1;
    }
    for (const item of state.effects ?? []) {
      const m = item.m && item.m.length === 6 ? /** @type {Matrix} */ ([...item.m]) : null;
      const texts = item.texts && item.texts.length === 2 ? [...item.texts] : null;
      const below = Array.isArray(item.below) && item.below.length === item.targets.length ? [...item.below] : null;
      const effect = new Effect(item.id, item.by, item.kind, [...item.targets], m, texts, item.to ?? null, below);
      effect.undone = item.undone ?? false;
      this.#effects.set(item.id, effect);
    }
    for (const [author, stack] of Object.entries(state.undo ?? {})) this.#undo.set(author, [...stack]);
    for (const [author, stack] of Object.entries(state.redo ?? {})) this.#redo.set(author, [...stack]);
    this.epoch += 1;
    this.#emit({ type: "reset" });
  }

  /** Forget everything (the log this board followed is gone: start again from seq 0). */
  reset() {
    this.loadState({ seq: 0, strokes: [], effects: [], undo: {}, redo: {} });
  }
}
