// Where an item is: the transform and the edited text the board gives it (board.js `placement`), and
// the geometry every kind shares for it. Pure: no DOM.

/** @typedef {import("../protocol.js").Matrix} Matrix */
/** @typedef {import("../geometry.js").Rect} Rect */
/** @typedef {{m: Matrix | null, text: string | null}} Place */

/** No transform, no edit. @type {Place} */
export const UNPLACED = Object.freeze({ m: null, text: null });

/**
 * @param {Matrix | null} m
 * @param {number} x
 * @param {number} y
 * @returns {[number, number]}
 */
export function apply(m, x, y) {
  if (!m) return [x, y];
  return [m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]];
}

/**
 * The axis-aligned rectangle a local box covers after a transform.
 * @param {number} left
 * @param {number} top
 * @param {number} right
 * @param {number} bottom
 * @param {Matrix | null} m
 * @returns {Rect}
 */
export function boxBounds(left, top, right, bottom, m) {
  if (!m) return { x: left, y: top, w: right - left, h: bottom - top };
  const corners = [apply(m, left, top), apply(m, right, top), apply(m, right, bottom), apply(m, left, bottom)];
  const xs = corners.map((c) => c[0]);
  const ys = corners.map((c) => c[1]);
  const x = Math.min(...xs);
  const y = Math.min(...ys);
  return { x, y, w: Math.max(...xs) - x, h: Math.max(...ys) - y };
}

/**
 * A board point in an item's own units (the inverse of its transform), and how much a board length
 * shrinks or grows there.
 * @param {Matrix | null} m
 * @param {number} x
 * @param {number} y
 * @returns {{x: number, y: number, scale: number}}
 */
export function toLocal(m, x, y) {
  if (!m) return { x, y, scale: 1 };
  const [a, b, c, d, e, f] = m;
  const det = a * d - b * c;
  const dx = x - e;
  const dy = y - f;
  return { x: (d * dx - c * dy) / det, y: (a * dy - b * dx) / det, scale: 1 / Math.sqrt(Math.abs(det)) };
}
