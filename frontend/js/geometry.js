// The infinite canvas's geometry: the camera (board units ↔ screen pixels), rectangles, hit tests and a
// spatial index of strokes. Pure: no DOM.

import { widthAt } from "./ink.js";

/** @typedef {import("./protocol.js").Point} Point */

/**
 * Where the viewport looks: `x`, `y` is the board point at the screen's top-left corner, `zoom` the CSS
 * pixels per board unit. screen = (board - (x, y)) * zoom.
 * @typedef {{x: number, y: number, zoom: number}} Camera
 */

/** @typedef {{x: number, y: number}} Vec */
/** An axis-aligned rectangle; `x`, `y` is its top-left corner. @typedef {{x: number, y: number, w: number, h: number}} Rect */

/** The zoom range people can reach (the protocol allows more; nobody needs it). */
export const MIN_ZOOM = 0.02;
export const MAX_ZOOM = 40;

/** @param {number} zoom */
export function clampZoom(zoom) {
  return Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, Number.isFinite(zoom) && zoom > 0 ? zoom : 1));
}

/**
 * @param {Camera} camera
 * @param {number} sx
 * @param {number} sy
 * @returns {Vec}
 */
export function screenToBoard(camera, sx, sy) {
  return { x: camera.x + sx / camera.zoom, y: camera.y + sy / camera.zoom };
}

/**
 * @param {Camera} camera
 * @param {number} bx
 * @param {number} by
 * @returns {Vec}
 */
export function boardToScreen(camera, bx, by) {
  return { x: (bx - camera.x) * camera.zoom, y: (by - camera.y) * camera.zoom };
}

/**
 * The camera zoomed by `factor` around a screen point, which stays over the same board point.
 * @param {Camera} camera
 * @param {number} sx
 * @param {number} sy
 * @param {number} factor
 * @returns {Camera}
 */
export function zoomAt(camera, sx, sy, factor) {
  const zoom = clampZoom(camera.zoom * factor);
  const anchor = screenToBoard(camera, sx, sy);
  return { x: anchor.x - sx / zoom, y: anchor.y - sy / zoom, zoom };
}

/**
 * The camera moved by a screen-pixel drag (the board follows the pointer).
 * @param {Camera} camera
 * @param {number} dx
 * @param {number} dy
 * @returns {Camera}
 */
export function panBy(camera, dx, dy) {
  return { x: camera.x - dx / camera.zoom, y: camera.y - dy / camera.zoom, zoom: camera.zoom };
}

/**
 * The board rectangle a viewport of this size shows.
 * @param {Camera} camera
 * @param {number} width CSS pixels
 * @param {number} height
 * @returns {Rect}
 */
export function visibleRect(camera, width, height) {
  return { x: camera.x, y: camera.y, w: width / camera.zoom, h: height / camera.zoom };
}

/**
 * What a `view` message says about a camera: the board point at the viewport's centre, and the zoom.
 * @param {Camera} camera
 * @param {number} width
 * @param {number} height
 * @returns {{x: number, y: number, zoom: number}}
 */
export function viewOf(camera, width, height) {
  return { x: camera.x + width / 2 / camera.zoom, y: camera.y + height / 2 / camera.zoom, zoom: camera.zoom };
}

/**
 * The camera of a viewport of this size that shows someone's view: their centre in the middle, their zoom.
 * @param {{x: number, y: number, zoom: number}} view
 * @param {number} width
 * @param {number} height
 * @returns {Camera}
 */
export function cameraForView(view, width, height) {
  const zoom = clampZoom(view.zoom);
  return { x: view.x - width / 2 / zoom, y: view.y - height / 2 / zoom, zoom };
}

/**
 * The camera that shows a rectangle whole, centred, with a margin (CSS pixels); at most 100% zoom.
 * @param {Rect} rect
 * @param {number} width
 * @param {number} height
 * @param {number} [margin]
 * @returns {Camera}
 */
export function cameraToFit(rect, width, height, margin = 48) {
  const zoom = clampZoom(
    Math.min(1, (width - 2 * margin) / Math.max(rect.w, 1), (height - 2 * margin) / Math.max(rect.h, 1)),
  );
  return cameraForView({ x: rect.x + rect.w / 2, y: rect.y + rect.h / 2, zoom }, width, height);
}

/**
 * @param {Rect} a
 * @param {Rect} b
 */
export function intersects(a, b) {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/**
 * @param {Rect} a
 * @param {Rect} b
 * @returns {Rect}
 */
export function union(a, b) {
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return { x, y, w: Math.max(a.x + a.w, b.x + b.w) - x, h: Math.max(a.y + a.h, b.y + b.h) - y };
}

/**
 * The rectangle a stroke's ink covers: its points, grown by half its widest width (full pressure).
 * @param {{width: number, pts: Point[]}} stroke
 * @returns {Rect}
 */
export function strokeBounds(stroke) {
  let left = Infinity;
  let top = Infinity;
  let right = -Infinity;
  let bottom = -Infinity;
  for (const [x, y] of stroke.pts) {
    if (x < left) left = x;
    if (x > right) right = x;
    if (y < top) top = y;
    if (y > bottom) bottom = y;
  }
  if (left === Infinity) return { x: 0, y: 0, w: 0, h: 0 };
  const reach = widthAt(stroke.width, 1) / 2 + 1;
  return { x: left - reach, y: top - reach, w: right - left + 2 * reach, h: bottom - top + 2 * reach };
}

/**
 * Squared distance from point p to the segment a-b.
 * @param {number} px
 * @param {number} py
 * @param {number} ax
 * @param {number} ay
 * @param {number} bx
 * @param {number} by
 */
export function distanceToSegmentSquared(px, py, ax, ay, bx, by) {
  const dx = bx - ax;
  const dy = by - ay;
  const length = dx * dx + dy * dy;
  let t = length === 0 ? 0 : ((px - ax) * dx + (py - ay) * dy) / length;
  t = Math.max(0, Math.min(1, t));
  const cx = ax + t * dx - px;
  const cy = ay + t * dy - py;
  return cx * cx + cy * cy;
}

/**
 * Whether a circle (an eraser's tip) touches a stroke's ink.
 * @param {{width: number, pts: Point[]}} stroke
 * @param {number} x
 * @param {number} y
 * @param {number} radius board units
 */
export function hitsStroke(stroke, x, y, radius) {
  const { pts } = stroke;
  const reach = radius + widthAt(stroke.width, 0.5) / 2;
  const reach2 = reach * reach;
  if (pts.length === 1) {
    const dx = pts[0][0] - x;
    const dy = pts[0][1] - y;
    return dx * dx + dy * dy <= reach2;
  }
  for (let i = 1; i < pts.length; i += 1) {
    const a = pts[i - 1];
    const b = pts[i];
    if (distanceToSegmentSquared(x, y, a[0], a[1], b[0], b[1]) <= reach2) return true;
  }
  return false;
}

/**
 * A uniform grid over the board that finds the strokes near a rectangle without looking at all of them.
 * A stroke is filed in every cell its bounds touch; a huge one (over MAX_CELLS cells) in a list that
 * every query checks.
 * @template {{id: string}} T
 */
export class SpatialIndex {
  static MAX_CELLS = 64;

  /** @param {number} [cellSize] board units */
  constructor(cellSize = 512) {
    this.cellSize = cellSize;
    /** @type {Map<string, Set<T>>} */
    this.cells = new Map();
    /** @type {Set<T>} */
    this.huge = new Set();
    /** @type {Map<string, {item: T, rect: Rect}>} */
    this.items = new Map();
  }

  get size() {
    return this.items.size;
  }

  /**
   * @param {T} item
   * @param {Rect} rect
   */
  insert(item, rect) {
    this.remove(item.id);
    this.items.set(item.id, { item, rect });
    const cells = this.#cellsOf(rect);
    if (cells === null) {
      this.huge.add(item);
      return;
    }
    for (const key of cells) {
      let cell = this.cells.get(key);
      if (!cell) this.cells.set(key, (cell = new Set()));
      cell.add(item);
    }
  }

  /** @param {string} id */
  remove(id) {
    const found = this.items.get(id);
    if (!found) return;
    this.items.delete(id);
    const cells = this.#cellsOf(found.rect);
    if (cells === null) {
      this.huge.delete(found.item);
      return;
    }
    for (const key of cells) {
      const cell = this.cells.get(key);
      cell?.delete(found.item);
      if (cell?.size === 0) this.cells.delete(key);
    }
  }

  /** @param {string} id */
  rectOf(id) {
    return this.items.get(id)?.rect;
  }

  clear() {
    this.cells.clear();
    this.huge.clear();
    this.items.clear();
  }

  /**
   * The items whose bounds intersect the rectangle (in no particular order).
   * @param {Rect} rect
   * @returns {T[]}
   */
  query(rect) {
    /** @type {Set<T>} */
    const found = new Set();
    const keys = this.#cellsOf(rect, Math.max(16, this.items.size));
    // A query over more cells than there are items is cheaper as a scan of every item.
    if (keys === null) {
      for (const { item, rect: bounds } of this.items.values()) if (intersects(bounds, rect)) found.add(item);
      return [...found];
    }
    for (const key of keys) {
      for (const item of this.cells.get(key) ?? []) {
        if (!found.has(item) && intersects(/** @type {Rect} */ (this.rectOf(item.id)), rect)) found.add(item);
      }
    }
    for (const item of this.huge) {
      if (intersects(/** @type {Rect} */ (this.rectOf(item.id)), rect)) found.add(item);
    }
    return [...found];
  }

  /**
   * The cell keys a rectangle touches, or null when they are more than `max`.
   * @param {Rect} rect
   * @param {number} [max]
   * @returns {string[] | null}
   */
  #cellsOf(rect, max = SpatialIndex.MAX_CELLS) {
    const size = this.cellSize;
    const x0 = Math.floor(rect.x / size);
    const y0 = Math.floor(rect.y / size);
    const x1 = Math.floor((rect.x + rect.w) / size);
    const y1 = Math.floor((rect.y + rect.h) / size);
    const count = (x1 - x0 + 1) * (y1 - y0 + 1);
    if (count > max || !Number.isFinite(count)) return null;
    /** @type {string[]} */
    const keys = [];
    for (let cx = x0; cx <= x1; cx += 1) for (let cy = y0; cy <= y1; cy += 1) keys.push(`${cx},${cy}`);
    return keys;
  }
}
