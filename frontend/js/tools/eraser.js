// The eraser: whole items (strokes, shapes, texts, notes) under its path, removed in one `erase` op (or a few, of at most
// MAX_ERASE_TARGETS each) when it lifts; until then they are drawn faded.

import { chunk } from "../ink.js";
import { HardLimits } from "../protocol.js";
import { ToolKind } from "../tools.js";
import { idle } from "./tool.js";

/** @typedef {import("./tool.js").Tool} Tool */
/** @typedef {import("./tool.js").ToolContext} ToolContext */
/** @typedef {import("../protocol.js").ItemOp} ItemOp */

/** The eraser's reach, in CSS pixels. */
export const ERASER_RADIUS_PX = 10;

/**
 * @param {ToolContext} ctx
 * @returns {Tool}
 */
export function eraserTool(ctx) {
  /** @type {Map<string, ItemOp>} */
  const hits = new Map();
  /** @type {{x: number, y: number} | null} */
  let at = null;
  let erasing = false;

  /** @param {{x: number, y: number}} to */
  function along(to) {
    const radius = ERASER_RADIUS_PX / ctx.camera().zoom;
    const from = at ?? to;
    const steps = Math.max(1, Math.ceil(Math.hypot(to.x - from.x, to.y - from.y) / radius));
    for (let i = 1; i <= steps; i += 1) {
      const x = from.x + ((to.x - from.x) * i) / steps;
      const y = from.y + ((to.y - from.y) * i) / steps;
      for (const item of ctx.itemsAt(x, y, radius)) hits.set(item.id, item);
    }
    at = to;
    ctx.invalidate();
  }

  return {
    ...idle(),
    name: ToolKind.ERASER,
    cursor: "cell",
    writes: true,
    down(event) {
      erasing = true;
      along(ctx.boardPoint(event));
    },
    move(event) {
      along(ctx.boardPoint(event));
    },
    up() {
      const targets = [...hits.values()];
      hits.clear();
      at = null;
      erasing = false;
      for (const piece of chunk(targets, HardLimits.MAX_ERASE_TARGETS)) ctx.submitErase(ctx.nextId(), piece);
      ctx.invalidate();
    },
    cancel() {
      hits.clear();
      at = null;
      erasing = false;
      ctx.invalidate();
    },
    overlay(overlay) {
      overlay.erasing.push(...hits.values());
    },
    busy: () => erasing,
  };
}
