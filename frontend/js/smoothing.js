// How strokes look: the pointer's jitter smoothed away while drawing, and the paths a finished stroke is
// drawn as. `segments()` is the drawing service's `render.segments()` (services/drawing/.../render.py) in
// JavaScript, so a board looks the same on screen and in its PNG or SVG export. Pure: no DOM.

import { widthAt } from "./ink.js";

/** @typedef {import("./protocol.js").Point} Point */

/** Widths are rounded to this (render.py's WIDTH_STEP), so a pressure curve draws as a few paths. */
export const WIDTH_STEP = 0.25;

/** @param {number} width */
export function quantize(width) {
  return Math.max(WIDTH_STEP, Math.round(width / WIDTH_STEP) * WIDTH_STEP);
}

/**
 * One path the canvas strokes: from `start` through quadratic curves (`quads`: control x, y, end x, y,
 * flattened), then a line to `end`; or a dot of diameter `width` at `start`.
 * @typedef {Object} Segment
 * @property {number} width
 * @property {[number, number]} start
 * @property {number[]} quads
 * @property {[number, number] | null} end
 * @property {boolean} dot
 */

/**
 * The paths of a stroke: curves through the midpoints of its points, a new path wherever the pressure
 * changes the (quantized) width; one point is a dot.
 * @param {{width: number, pts: Point[]}} stroke
 * @returns {Segment[]}
 */
export function segments(stroke) {
  const { pts } = stroke;
  if (pts.length === 0) return [];
  const first = pts[0];
  if (pts.length === 1) {
    return [{ width: widthAt(stroke.width, first[2]), start: [first[0], first[1]], quads: [], end: null, dot: true }];
  }
  /** @type {Segment[]} */
  const out = [];
  let width = quantize(widthAt(stroke.width, first[2]));
  /** @type {[number, number]} */
  let start = [first[0], first[1]];
  /** @type {number[]} */
  let quads = [];
  for (let i = 1; i < pts.length - 1; i += 1) {
    const [x, y, pressure] = pts[i];
    const next = pts[i + 1];
    const midX = (x + next[0]) / 2;
    const midY = (y + next[1]) / 2;
    quads.push(x, y, midX, midY);
    const following = quantize(widthAt(stroke.width, pressure));
    if (following !== width) {
      out.push({ width, start, quads, end: null, dot: false });
      start = [midX, midY];
      quads = [];
      width = following;
    }
  }
  const last = pts[pts.length - 1];
  out.push({ width, start, quads, end: [last[0], last[1]], dot: false });
  return out;
}

/**
 * Takes the jitter out of a hand-drawn line as it is drawn: each point moves only part of the way towards
 * where the pointer is (perfect-freehand's "streamline"), pressure likewise; the faster the pointer, the
 * less it is held back, so quick strokes do not lag.
 */
export class Smoother {
  /** @type {Point | null} */
  #last = null;

  /**
   * @param {number} [strength] 0: raw points; towards 1: smoother and laggier
   * @param {number} [scale] board units per CSS pixel, to judge speed on screen
   */
  constructor(strength = 0.5, scale = 1) {
    this.strength = Math.min(0.95, Math.max(0, strength));
    this.scale = scale;
  }

  /**
   * The smoothed point for a new raw one.
   * @param {number} x
   * @param {number} y
   * @param {number} pressure
   * @returns {Point}
   */
  push(x, y, pressure) {
    const last = this.#last;
    if (last === null || this.strength === 0) {
      this.#last = [x, y, pressure];
      return [x, y, pressure];
    }
    const distance = Math.hypot(x - last[0], y - last[1]) / this.scale;
    // Slow, small moves (the jittery ones) are smoothed most; a 24 px jump between events is followed.
    const hold = this.strength * Math.max(0, 1 - distance / 24);
    const point = /** @type {Point} */ ([
      last[0] + (x - last[0]) * (1 - hold),
      last[1] + (y - last[1]) * (1 - hold),
      last[2] + (pressure - last[2]) * (1 - this.strength * 0.6),
    ]);
    this.#last = point;
    return point;
  }
}
