// The shape tools: line, arrow, rectangle, ellipse, diamond. Drag from one corner to the other (a line
// from one end to the other); Shift keeps a square box or a 45° angle. The shape is drawn as it grows
// and committed as one `shape` op when the pointer lifts; meanwhile the others see it grow through live
// `sketch` messages (at most one a frame, only when it changed), which the committed op replaces.

import { constrained } from "../matrix.js";
import { OpKind, ShapeName, sketch } from "../protocol.js";
import { idle } from "./tool.js";

/** @typedef {import("./tool.js").Tool} Tool */
/** @typedef {import("./tool.js").ToolContext} ToolContext */
/** @typedef {import("../protocol.js").ShapeOp} ShapeOp */
/** @typedef {"line" | "arrow" | "rect" | "ellipse" | "diamond"} ShapeTool */

/** Shapes smaller than this on screen (CSS pixels, both ways) are a slip, not a shape. */
const MIN_DRAG_PX = 3;

/**
 * A fill that goes with an outline colour: the colour mixed with four times as much white.
 * @param {string} color `#rrggbb`
 */
export function tint(color) {
  const value = Number.parseInt(color.slice(1), 16);
  const mix = (/** @type {number} */ c) => Math.round(c + (255 - c) * 0.8);
  const rgb = [(value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff].map(mix);
  return `#${rgb.map((c) => c.toString(16).padStart(2, "0")).join("")}`;
}

/**
 * @param {ToolContext} ctx
 * @param {ShapeTool} name
 * @param {() => boolean} filled whether closed shapes are filled (the toolbar's toggle)
 * @param {() => boolean} [round] whether rectangles get round corners (the selection bar's choice)
 * @returns {Tool}
 */
export function shapeTool(ctx, name, filled, round = () => true) {
  /** @type {ShapeOp | null} */
  let current = null;
  /** @type {{x: number, y: number} | null} */
  let start = null;
  /** The shape as last sent live (null: nothing sent for the one under way). @type {ShapeOp | null} */
  let sent = null;
  const isLine = name === "line" || name === "arrow";

  /** End the others' preview of a shape that will not be committed. */
  function withdraw() {
    if (sent) ctx.sendLive(sketch(sent.id, null));
    sent = null;
  }

  /** @param {PointerEvent} event */
  function to(event) {
    if (!current || !start) return;
    const at = ctx.boardPoint(event);
    let dx = at.x - start.x;
    let dy = at.y - start.y;
    if (event.shiftKey) [dx, dy] = constrained(isLine ? "line" : "box", dx, dy);
    current = { ...current, w: dx, h: dy };
    ctx.invalidate();
  }

  return {
    ...idle(),
    name,
    cursor: "crosshair",
    writes: true,
    down(event) {
      const prefs = ctx.prefs();
      start = ctx.boardPoint(event);
      current = {
        kind: OpKind.SHAPE,
        id: ctx.nextId(),
        shape: /** @type {ShapeOp["shape"]} */ (name === "line" ? ShapeName.LINE : name),
        x: start.x,
        y: start.y,
        w: 0,
        h: 0,
        color: prefs.penColor,
        width: Math.min(ctx.limits().max_width, prefs.penWidth),
        opacity: 1,
        fill: !isLine && filled() ? tint(prefs.penColor) : null,
        rounded: name === "rect" && round(),
        start_head: false,
        end_head: name === "arrow",
      };
    },
    move: to,
    up(event) {
      if (event.type === "pointerup") to(event);
      const zoom = ctx.camera().zoom;
      if (current && Math.max(Math.abs(current.w), Math.abs(current.h)) * zoom >= MIN_DRAG_PX) {
        ctx.submitItem(current); // its commit replaces the others' preview
        sent = null;
      } else {
        withdraw();
      }
      current = null;
      start = null;
      ctx.invalidate();
    },
    cancel() {
      withdraw();
      current = null;
      start = null;
      ctx.invalidate();
    },
    frame() {
      // The shape goes out live once per frame, and only when it changed.
      if (!current || (current.w === 0 && current.h === 0) || current === sent) return;
      if (ctx.sendLive(sketch(current.id, current))) sent = current;
    },
    overlay(overlay) {
      if (current) overlay.live.push(current);
    },
    busy: () => current !== null,
  };
}
