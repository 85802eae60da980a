// Strokes while they are drawn: pressure, width, the points kept, and how a long stroke is split so that
// it fits the room's limits. Pure: no DOM.

import { HardLimits, OpKind, makePoint } from "./protocol.js";

/** @typedef {import("./protocol.js").Point} Point */
/** @typedef {import("./protocol.js").Limits} Limits */
/** @typedef {import("./protocol.js").StrokeOp} StrokeOp */
/** @typedef {import("./protocol.js").ToolName} ToolName */

/**
 * How a stroke looks, apart from its points.
 * @typedef {{tool: ToolName, color: string, width: number, opacity: number}} StrokeStyle
 */

/** Pressure when the device reports none (mouse, most touch screens). */
export const DEFAULT_PRESSURE = 0.5;

/** Points closer than this (board units) to the last kept one are skipped while drawing. */
export const MIN_POINT_DISTANCE = 0.75;

/** Bytes budgeted for one encoded point (`[-1000000.25,-1000000.25,0.125],` is 33). */
const BYTES_PER_POINT = 40;
/** Bytes budgeted for everything around the points in an op frame. */
const FRAME_OVERHEAD_BYTES = 1024;

/**
 * The pressure to record for a pointer event: a pen's own, 0.5 for devices that report none.
 * @param {string} pointerType
 * @param {number} pressure
 */
export function pressureOf(pointerType, pressure) {
  if (pointerType === "pen" && Number.isFinite(pressure) && pressure > 0) return Math.min(1, pressure);
  return DEFAULT_PRESSURE;
}

/**
 * The drawn width at a point: pressure scales the pen's width mildly, from 75% to 125% (100% at 0.5).
 * @param {number} width
 * @param {number} pressure
 */
export function widthAt(width, pressure) {
  return width * (0.75 + 0.5 * pressure);
}

/**
 * How many points one stroke may hold here: the room's limit, and what fits in one frame.
 * @param {Limits} limits
 */
export function strokeCapacity(limits) {
  const byFrame = Math.floor((limits.max_frame_bytes - FRAME_OVERHEAD_BYTES) / BYTES_PER_POINT);
  return Math.max(2, Math.min(limits.max_points_per_stroke, HardLimits.MAX_POINTS_PER_STROKE, byFrame));
}

/**
 * Split a list into pieces of at most `size` items.
 * @template T
 * @param {T[]} items
 * @param {number} size
 * @returns {T[][]}
 */
export function chunk(items, size) {
  const step = Math.max(1, Math.floor(size));
  /** @type {T[][]} */
  const pieces = [];
  for (let i = 0; i < items.length; i += step) pieces.push(items.slice(i, i + step));
  return pieces;
}

/**
 * Clamp a value into [-bound, bound].
 * @param {number} value
 * @param {number} bound
 */
function clamp(value, bound) {
  return Math.min(bound, Math.max(-bound, value));
}

/** One stroke being drawn by this client. */
export class StrokeBuilder {
  /** @type {Point[]} */
  pts = [];
  /** How many of `pts` went out in live `points` messages. */
  #sent = 0;

  /**
   * @param {string} id
   * @param {StrokeStyle} style
   * @param {Limits} limits
   * @param {number} [minDistance] board units between kept points (about a screen pixel at the zoom)
   */
  constructor(id, style, limits, minDistance = MIN_POINT_DISTANCE) {
    this.id = id;
    this.style = { ...style, width: Math.min(style.width, limits.max_width) };
    this.capacity = strokeCapacity(limits);
    this.maxCoordinate = limits.max_coordinate;
    this.minDistance = minDistance;
  }

  /** Whether the stroke holds as many points as it may: the next point starts a new stroke. */
  get full() {
    return this.pts.length >= this.capacity;
  }

  /**
   * Add a point unless it is too close to the last one; false when skipped (or the stroke is full).
   * @param {number} x
   * @param {number} y
   * @param {number} pressure
   */
  add(x, y, pressure) {
    if (this.full) return false;
    const point = makePoint(clamp(x, this.maxCoordinate), clamp(y, this.maxCoordinate), pressure);
    const last = this.pts.at(-1);
    if (last && Math.hypot(point[0] - last[0], point[1] - last[1]) < this.minDistance) {
      // Keep the pressure moving even when the pen barely does.
      if (point[2] !== last[2] && this.pts.length > this.#sent) last[2] = point[2];
      return false;
    }
    this.pts.push(point);
    return true;
  }

  /**
   * A straight line: the stroke is its first point and this one.
   * @param {number} x
   * @param {number} y
   * @param {number} pressure
   */
  lineTo(x, y, pressure) {
    const first = this.pts[0];
    if (!first) return;
    const end = makePoint(clamp(x, this.maxCoordinate), clamp(y, this.maxCoordinate), pressure);
    this.pts = [first, [end[0], end[1], first[2]]];
  }

  /** The points not yet sent live (they are marked sent). */
  takeUnsent() {
    const unsent = this.pts.slice(this.#sent);
    this.#sent = this.pts.length;
    return unsent;
  }

  /**
   * The next stroke after a full one: same style, new id, starting where this one ends so the line is unbroken.
   * @param {string} id
   * @param {Limits} limits
   */
  continuation(id, limits) {
    const next = new StrokeBuilder(id, this.style, limits, this.minDistance);
    const last = this.pts.at(-1);
    if (last) next.pts.push([last[0], last[1], last[2]]);
    return next;
  }

  /** @returns {StrokeOp} the durable op of the finished stroke */
  toOp() {
    return { kind: OpKind.STROKE, id: this.id, ...this.style, pts: this.pts.map((p) => [p[0], p[1], p[2]]) };
  }
}
