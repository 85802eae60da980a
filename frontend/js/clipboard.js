// Copy and paste of items as JSON on the system clipboard: within a board, across boards and tabs.
// What goes on the clipboard is `{"drawnet": "items/1", "items": [{"op": …, "m": …, "text": …}]}`: the
// ops that added the items, with the transform and edited text the board gave them. Pasting makes new
// items (new ids), moved by an offset (the view picks it: to the pointer, or a little off the originals).
// Pure: no DOM.

import { compose } from "./board.js";
import { ITEM_KINDS, OpKind, decodeOp } from "./protocol.js";
import { translation } from "./matrix.js";

/** @typedef {import("./protocol.js").ItemOp} ItemOp */
/** @typedef {import("./protocol.js").Op} Op */
/** @typedef {import("./protocol.js").Matrix} Matrix */
/** @typedef {import("./kinds/place.js").Place} Place */

export const CLIPBOARD_FORMAT = "items/1";

/**
 * @param {[ItemOp, Place][]} items bottom to top
 * @returns {string}
 */
export function copied(items) {
  return JSON.stringify({ drawnet: CLIPBOARD_FORMAT, items: items.map(([op, place]) => ({ op, m: place.m, text: place.text })) });
}

/**
 * The items the clipboard holds, each with the place (transform, edited text) it had when copied; null
 * when the text is not items copied from Drawnet. Malformed entries are left out.
 * @param {string} text
 * @returns {[ItemOp, Place][] | null}
 */
export function clipped(text) {
  /** @type {unknown} */
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof parsed !== "object" || parsed === null) return null;
  const clip = /** @type {{drawnet?: unknown, items?: unknown}} */ (parsed);
  if (clip.drawnet !== CLIPBOARD_FORMAT || !Array.isArray(clip.items)) return null;
  /** @type {[ItemOp, Place][]} */
  const items = [];
  for (const entry of clip.items) {
    let op;
    try {
      op = decodeOp(entry?.op);
    } catch {
      continue;
    }
    if (!(/** @type {readonly string[]} */ (ITEM_KINDS).includes(op.kind))) continue;
    /** @type {Matrix | null} */
    const m = Array.isArray(entry.m) && entry.m.length === 6 && entry.m.every(Number.isFinite) ? entry.m : null;
    const edited = typeof entry.text === "string" ? entry.text : null;
    items.push([/** @type {ItemOp} */ (op), { m, text: edited }]);
  }
  return items;
}

/**
 * The ops that paste what the clipboard holds as new items moved by (dx, dy): an add per item, and a
 * transform for those that had one (strokes and untransformed items are moved in the add itself).
 * Null when the text is not items copied from Drawnet.
 * @param {string} text
 * @param {() => string} nextId
 * @param {number} dx
 * @param {number} dy
 * @returns {{ops: Op[], ids: string[]} | null}
 */
export function pasteFrom(text, nextId, dx, dy) {
  const items = clipped(text);
  if (items === null) return null;
  /** @type {Op[]} */
  const ops = [];
  /** @type {string[]} */
  const ids = [];
  for (const [item, { m, text: edited }] of items) {
    const id = nextId();
    ids.push(id);
    if (item.kind === OpKind.STROKE) {
      const move = compose(translation(dx, dy), m);
      const [a, b, c, d, e, f] = move;
      ops.push({
        ...item,
        id,
        pts: item.pts.map(([x, y, p]) => [a * x + c * y + e, b * x + d * y + f, p]),
        width: item.width * Math.sqrt(Math.abs(a * d - b * c)),
      });
      continue;
    }
    const withText = edited !== null && (item.kind === OpKind.TEXT || item.kind === OpKind.NOTE) ? { text: edited } : {};
    if (m === null) {
      ops.push(/** @type {ItemOp} */ ({ ...item, ...withText, id, x: item.x + dx, y: item.y + dy }));
    } else {
      ops.push(/** @type {ItemOp} */ ({ ...item, ...withText, id }));
      ops.push({ kind: OpKind.TRANSFORM, id: nextId(), items: [id], m: compose(translation(dx, dy), m) });
    }
  }
  return { ops, ids };
}
