// The shape: rectangles, ellipses, diamonds, lines and arrows, as the drawing service's render/shapes.py
// draws them: the same outline, the fill under it, round caps and joins, each painted with the shape's
// opacity on its own, everything under the item's transform.

import { distanceToSegmentSquared } from "../geometry.js";
import { UNPLACED, boxBounds, toLocal } from "./place.js";

/** @typedef {import("../protocol.js").ShapeOp} ShapeOp */
/** @typedef {import("./place.js").Place} Place */
/** @typedef {[number, number]} XY */

/** A rounded rectangle's corner radius is this share of its shorter side, up to MAX_CORNER board units. */
export const CORNER_SHARE = 0.25;
export const MAX_CORNER = 32;
/** Each side of an arrowhead leaves the line at this angle. */
export const HEAD_ANGLE = Math.PI / 6;

/**
 * An arrowhead grows with the line's width, at most half the line (render/shapes.py `head_length`).
 * @param {number} width
 * @param {number} length
 */
export function headLength(width, length) {
  return Math.min(4 * width + 8, length / 2);
}

/**
 * What a shape is drawn as, in its own units (render/shapes.py `outline`).
 * @param {ShapeOp} shape
 * @returns {{closed: boolean, points: XY[], ellipse: boolean, radius: number, heads: XY[][]}}
 */
export function outline(shape) {
  const [x0, x1] = [shape.x, shape.x + shape.w].sort((a, b) => a - b);
  const [y0, y1] = [shape.y, shape.y + shape.h].sort((a, b) => a - b);
  switch (shape.shape) {
    case "rect": {
      const radius = shape.rounded ? Math.min(MAX_CORNER, CORNER_SHARE * Math.min(x1 - x0, y1 - y0)) : 0;
      return { closed: true, points: [[x0, y0], [x1, y0], [x1, y1], [x0, y1]], ellipse: false, radius, heads: [] };
    }
    case "ellipse":
      return { closed: true, points: [[x0, y0], [x1, y1]], ellipse: true, radius: 0, heads: [] };
    case "diamond": {
      const cx = (x0 + x1) / 2;
      const cy = (y0 + y1) / 2;
      return { closed: true, points: [[cx, y0], [x1, cy], [cx, y1], [x0, cy]], ellipse: false, radius: 0, heads: [] };
    }
  }
  /** @type {XY} */
  const start = [shape.x, shape.y];
  /** @type {XY} */
  const end = [shape.x + shape.w, shape.y + shape.h];
  const heads = [];
  if (shape.end_head) heads.push(head(start, end, shape.width));
  if (shape.start_head) heads.push(head(end, start, shape.width));
  return { closed: false, points: [start, end], ellipse: false, radius: 0, heads };
}

/**
 * @param {XY} tail
 * @param {XY} tip
 * @param {number} width
 * @returns {XY[]}
 */
function head(tail, tip, width) {
  const dx = tip[0] - tail[0];
  const dy = tip[1] - tail[1];
  const length = Math.hypot(dx, dy);
  if (length === 0) return [];
  const size = headLength(width, length);
  const ux = dx / length;
  const uy = dy / length;
  const cos = Math.cos(HEAD_ANGLE);
  const sin = Math.sin(HEAD_ANGLE);
  return [
    [tip[0] - size * (ux * cos - uy * sin), tip[1] - size * (uy * cos + ux * sin)],
    tip,
    [tip[0] - size * (ux * cos + uy * sin), tip[1] - size * (uy * cos - ux * sin)],
  ];
}

/**
 * What its ink covers in its own units.
 * @param {ShapeOp} shape
 * @returns {[number, number, number, number]}
 */
export function localBox(shape) {
  const x0 = Math.min(shape.x, shape.x + shape.w);
  const x1 = Math.max(shape.x, shape.x + shape.w);
  const y0 = Math.min(shape.y, shape.y + shape.h);
  const y1 = Math.max(shape.y, shape.y + shape.h);
  let reach = shape.width / 2 + 1;
  if ((shape.shape === "arrow" || shape.shape === "line") && (shape.start_head || shape.end_head)) {
    reach += headLength(shape.width, Math.hypot(shape.w, shape.h));
  }
  return [x0 - reach, y0 - reach, x1 + reach, y1 + reach];
}

/**
 * @param {ShapeOp} shape
 * @returns {Path2D}
 */
function path(shape) {
  const fig = outline(shape);
  const p = new Path2D();
  if (fig.ellipse) {
    const [[x0, y0], [x1, y1]] = fig.points;
    p.ellipse((x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2, 0, 0, Math.PI * 2);
  } else if (fig.closed && fig.radius > 0) {
    const [[x0, y0], , [x1, y1]] = fig.points;
    p.roundRect(x0, y0, x1 - x0, y1 - y0, fig.radius);
  } else {
    fig.points.forEach(([x, y], i) => (i === 0 ? p.moveTo(x, y) : p.lineTo(x, y)));
    if (fig.closed) p.closePath();
  }
  for (const chevron of fig.heads) chevron.forEach(([x, y], i) => (i === 0 ? p.moveTo(x, y) : p.lineTo(x, y)));
  return p;
}

/** @type {import("./kinds.js").ItemKind<ShapeOp, Path2D>} */
export const shapeKind = {
  bounds(shape, place = UNPLACED) {
    const [l, t, r, b] = localBox(shape);
    return boxBounds(l, t, r, b, place.m);
  },
  hits(shape, place, x, y, radius) {
    const local = toLocal(place.m, x, y);
    const reach = radius * local.scale + shape.width / 2;
    const fig = outline(shape);
    if (!fig.closed) {
      const [[ax, ay], [bx, by]] = fig.points;
      return distanceToSegmentSquared(local.x, local.y, ax, ay, bx, by) <= reach * reach;
    }
    // Closed shapes are picked anywhere inside their box, as people expect of a frame.
    const [l, t, r, b] = localBox(shape);
    return local.x >= l - reach && local.x <= r + reach && local.y >= t - reach && local.y <= b + reach;
  },
  prepare: path,
  paint(ctx, shape, place, prepared) {
    ctx.save();
    if (place.m) ctx.transform(...place.m);
    ctx.globalAlpha = shape.opacity ?? 1;
    if (shape.fill && outline(shape).closed) {
      ctx.fillStyle = shape.fill;
      ctx.fill(prepared);
    }
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.lineWidth = shape.width;
    ctx.strokeStyle = shape.color;
    ctx.stroke(prepared);
    ctx.restore();
  },
};
