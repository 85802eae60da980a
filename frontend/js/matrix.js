// Affine matrices [a, b, c, d, e, f] for transforms (the protocol's `transform.m`, canvas's
// setTransform order), and the geometry of dragging a selection: move, resize from a handle, rotate.
// Pure: no DOM. Composition itself is the board's (board.js `compose`): both sides must do it alike.

import { compose } from "./board.js";

/** @typedef {import("./protocol.js").Matrix} Matrix */
/** @typedef {import("./geometry.js").Rect} Rect */

/** @type {Matrix} */
export const IDENTITY = [1, 0, 0, 1, 0, 0];

/**
 * @param {number} dx
 * @param {number} dy
 * @returns {Matrix}
 */
export function translation(dx, dy) {
  return [1, 0, 0, 1, dx, dy];
}

/**
 * Scale by (sx, sy) keeping the point (ox, oy) where it is.
 * @param {number} sx
 * @param {number} sy
 * @param {number} ox
 * @param {number} oy
 * @returns {Matrix}
 */
export function scalingAbout(sx, sy, ox, oy) {
  return [sx, 0, 0, sy, ox - sx * ox, oy - sy * oy];
}

/**
 * Rotate by `angle` radians (clockwise on screen: y points down) around (cx, cy).
 * @param {number} angle
 * @param {number} cx
 * @param {number} cy
 * @returns {Matrix}
 */
export function rotationAbout(angle, cx, cy) {
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  return [cos, sin, -sin, cos, cx - cos * cx + sin * cy, cy - sin * cx - cos * cy];
}

/** @param {Matrix} m */
export function isIdentity(m) {
  return m[0] === 1 && m[1] === 0 && m[2] === 0 && m[3] === 1 && m[4] === 0 && m[5] === 0;
}

/** The eight resize handles and the rotation handle of a selection frame. */
export const HANDLES = Object.freeze(["nw", "n", "ne", "e", "se", "s", "sw", "w"]);
/** @typedef {"nw" | "n" | "ne" | "e" | "se" | "s" | "sw" | "w"} Handle */

/**
 * Where a handle sits on a frame.
 * @param {Rect} frame
 * @param {Handle} handle
 * @returns {[number, number]}
 */
export function handlePoint(frame, handle) {
  const x = handle.includes("w") ? frame.x : handle.includes("e") ? frame.x + frame.w : frame.x + frame.w / 2;
  const y = handle.includes("n") ? frame.y : handle.includes("s") ? frame.y + frame.h : frame.y + frame.h / 2;
  return [x, y];
}

/** The smallest a frame may be resized to (board units): a transform must keep being invertible. */
export const MIN_SIZE = 1;

/**
 * The transform that resizes a frame by dragging a handle from where it was by (dx, dy): the opposite
 * handle stays put; `keepRatio` (Shift) scales both ways alike, and a corner always does so when asked.
 * @param {Rect} frame
 * @param {Handle} handle
 * @param {number} dx
 * @param {number} dy
 * @param {boolean} keepRatio
 * @returns {Matrix}
 */
export function resizing(frame, handle, dx, dy, keepRatio) {
  const w = Math.max(frame.w, MIN_SIZE);
  const h = Math.max(frame.h, MIN_SIZE);
  const horizontal = handle.includes("e") ? 1 : handle.includes("w") ? -1 : 0;
  const vertical = handle.includes("s") ? 1 : handle.includes("n") ? -1 : 0;
  let sx = horizontal === 0 ? 1 : (w + horizontal * dx) / w;
  let sy = vertical === 0 ? 1 : (h + vertical * dy) / h;
  if (keepRatio) {
    const s = horizontal === 0 ? sy : vertical === 0 ? sx : Math.max(Math.abs(sx), Math.abs(sy)) * Math.sign(sx * sy || 1);
    sx = horizontal === 0 ? Math.abs(s) : s;
    sy = vertical === 0 ? Math.abs(s) : Math.abs(s) * Math.sign(sy || 1);
  }
  sx = Math.sign(sx || 1) * Math.max(Math.abs(sx), MIN_SIZE / w);
  sy = Math.sign(sy || 1) * Math.max(Math.abs(sy), MIN_SIZE / h);
  const [ox, oy] = handlePoint(frame, /** @type {Handle} */ (opposite(handle)));
  return scalingAbout(sx, sy, ox, oy);
}

/** @param {Handle} handle */
function opposite(handle) {
  return handle
    .split("")
    .map((c) => ({ n: "s", s: "n", e: "w", w: "e" })[/** @type {"n" | "s" | "e" | "w"} */ (c)])
    .join("");
}

/**
 * The angle of a rotation drag around a centre, snapped to 15° steps with Shift.
 * @param {number} cx
 * @param {number} cy
 * @param {[number, number]} from
 * @param {[number, number]} to
 * @param {boolean} snap
 */
export function rotationAngle(cx, cy, from, to, snap) {
  const angle = Math.atan2(to[1] - cy, to[0] - cx) - Math.atan2(from[1] - cy, from[0] - cx);
  if (!snap) return angle;
  const step = Math.PI / 12;
  return Math.round(angle / step) * step;
}

/**
 * A drag from (x0, y0) to (x1, y1) with Shift held: a square box for rectangles and the like, a 45°
 * multiple for lines.
 * @param {"box" | "line"} kind
 * @param {number} dx
 * @param {number} dy
 * @returns {[number, number]}
 */
export function constrained(kind, dx, dy) {
  if (kind === "box") {
    const side = Math.max(Math.abs(dx), Math.abs(dy));
    return [Math.sign(dx || 1) * side, Math.sign(dy || 1) * side];
  }
  const length = Math.hypot(dx, dy);
  const angle = Math.round(Math.atan2(dy, dx) / (Math.PI / 4)) * (Math.PI / 4);
  const x = length * Math.cos(angle);
  const y = length * Math.sin(angle);
  return [Math.abs(x) < 1e-9 ? 0 : x, Math.abs(y) < 1e-9 ? 0 : y];
}

export { compose };
