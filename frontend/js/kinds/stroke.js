// The stroke: how the canvas bounds, hits and paints one (the drawing service's
// `render/strokes.py` draws the same paths). Each path is a run of quadratic curves through the
// midpoints of the points, with round caps and joins, a new path wherever the pressure changes the
// (quantized) width; a one-point stroke is a dot.

import { hitsStroke, strokeBounds } from "../geometry.js";
import { segments } from "../smoothing.js";
import { UNPLACED } from "./place.js";

/** @typedef {import("../render.js").Drawable} Drawable */
/** @typedef {{path: Path2D, width: number, dot: boolean}[]} StrokePaths */

/**
 * The Path2D of each of a stroke's segments (board units).
 * @param {Drawable} stroke
 * @returns {StrokePaths}
 */
export function strokePaths(stroke) {
  return segments(stroke).map((segment) => {
    const path = new Path2D();
    if (segment.dot) {
      path.arc(segment.start[0], segment.start[1], segment.width / 2, 0, Math.PI * 2);
      return { path, width: segment.width, dot: true };
    }
    path.moveTo(segment.start[0], segment.start[1]);
    const q = segment.quads;
    for (let i = 0; i < q.length; i += 4) path.quadraticCurveTo(q[i], q[i + 1], q[i + 2], q[i + 3]);
    if (segment.end) path.lineTo(segment.end[0], segment.end[1]);
    return { path, width: segment.width, dot: false };
  });
}

/**
 * @param {CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D} ctx
 * @param {Drawable} stroke
 * @param {StrokePaths} paths
 */
export function paintStroke(ctx, stroke, paths) {
  ctx.globalAlpha = stroke.opacity;
  ctx.strokeStyle = stroke.color;
  ctx.fillStyle = stroke.color;
  for (const { path, width, dot } of paths) {
    if (dot) {
      ctx.fill(path);
    } else {
      ctx.lineWidth = width;
      ctx.stroke(path);
    }
  }
}

/**
 * A stroke under a transform (render/strokes.py `transformed`): its points moved, its width scaled by the
 * square root of the transform's area factor.
 * @template {Drawable} T
 * @param {T} stroke
 * @param {import("./place.js").Place} place
 * @returns {T}
 */
export function transformed(stroke, place) {
  const m = place.m;
  if (!m) return stroke;
  const [a, b, c, d, e, f] = m;
  return {
    ...stroke,
    pts: stroke.pts.map(([x, y, p]) => [a * x + c * y + e, b * x + d * y + f, p]),
    width: stroke.width * Math.sqrt(Math.abs(a * d - b * c)),
  };
}

/** @type {import("./kinds.js").ItemKind<Drawable, StrokePaths>} */
export const strokeKind = {
  bounds: (stroke, place = UNPLACED) => strokeBounds(transformed(stroke, place)),
  hits: (stroke, place, x, y, radius) => hitsStroke(transformed(stroke, place), x, y, radius),
  prepare: (stroke, place) => strokePaths(transformed(stroke, place)),
  paint: (ctx, stroke, _place, paths) => paintStroke(ctx, stroke, paths),
};
