// The straight line: a two-point stroke from where the pointer went down to where it is. It changes as a
// whole until it is done, so the others see it when it is committed (no live points).

import { StrokeBuilder } from "../ink.js";
import { ToolKind, strokeStyle } from "../tools.js";
import { idle } from "./tool.js";

/** @typedef {import("./tool.js").Tool} Tool */
/** @typedef {import("./tool.js").ToolContext} ToolContext */

/** Lines this short (points) are dropped rather than committed when a pinch takes the gesture away. */
const KEEP_CANCELLED_AFTER = 3;

/**
 * @param {ToolContext} ctx
 * @returns {Tool}
 */
export function lineTool(ctx) {
  /** @type {StrokeBuilder | null} */
  let current = null;

  /** @param {PointerEvent} event */
  function to(event) {
    if (!current) return;
    const at = ctx.boardPoint(event);
    current.lineTo(at.x, at.y, 0.5);
    ctx.invalidate();
  }

  function end() {
    if (current && current.pts.length > 0) ctx.submitStroke(current.toOp());
    current = null;
    ctx.invalidate();
  }

  return {
    ...idle(),
    name: ToolKind.LINE,
    cursor: "crosshair",
    writes: true,
    down(event) {
      const prefs = ctx.prefs();
      const style = strokeStyle(ToolKind.LINE, prefs.penColor, prefs.penWidth, ctx.limits().max_width);
      current = new StrokeBuilder(ctx.nextId(), style, ctx.limits(), 0.75 / ctx.camera().zoom);
      const at = ctx.boardPoint(event);
      current.add(at.x, at.y, 0.5);
    },
    move: to,
    up(event) {
      if (event.type === "pointerup") to(event);
      end();
    },
    cancel() {
      if (current && current.pts.length > KEEP_CANCELLED_AFTER) end();
      current = null;
      ctx.invalidate();
    },
    overlay(overlay) {
      if (current) overlay.live.push({ ...current.style, pts: current.pts });
    },
    busy: () => current !== null,
  };
}
