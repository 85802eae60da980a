// The hand: dragging moves the board. The view also lends it the pointer for the middle button, for a
// drag while Space is held, and to viewers, whatever tool is selected.

import { ToolKind } from "../tools.js";
import { idle } from "./tool.js";

/** @typedef {import("./tool.js").Tool} Tool */
/** @typedef {import("./tool.js").ToolContext} ToolContext */

/**
 * @param {ToolContext} ctx
 * @returns {Tool}
 */
export function handTool(ctx) {
  /** @type {{x: number, y: number} | null} */
  let last = null;
  return {
    ...idle(),
    name: ToolKind.HAND,
    cursor: "grab",
    writes: false,
    down(event) {
      last = { x: event.clientX, y: event.clientY };
      ctx.showPanning(true);
    },
    move(event) {
      if (!last) return;
      ctx.panBy(event.clientX - last.x, event.clientY - last.y);
      last = { x: event.clientX, y: event.clientY };
    },
    up() {
      last = null;
      ctx.showPanning(false);
    },
    cancel() {
      last = null;
      ctx.showPanning(false);
    },
    busy: () => last !== null,
  };
}
