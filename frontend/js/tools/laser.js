// The laser pointer: point at things while presenting. The others see a trail that fades within a
// moment (live `laser` messages, sent in batches each frame); nothing is committed, so it leaves nothing on
// the board and never reaches the op log. Viewers may point too.

import { LaserTrails } from "../laser.js";
import { laser } from "../protocol.js";
import { ToolKind } from "../tools.js";
import { idle } from "./tool.js";

/** @typedef {import("./tool.js").Tool} Tool */
/** @typedef {import("./tool.js").ToolContext} ToolContext */

/** This page's own trail's key in the trails. */
export const MINE = "";

/**
 * @param {ToolContext} ctx
 * @param {LaserTrails} trails where my trail is drawn (with everyone else's)
 * @returns {Tool}
 */
export function laserTool(ctx, trails) {
  /** Points not sent yet. @type {[number, number][]} */
  let unsent = [];
  let starting = false;
  let pointing = false;

  /** @param {PointerEvent} event */
  function add(event) {
    const events = typeof event.getCoalescedEvents === "function" ? event.getCoalescedEvents() : [];
    /** @type {[number, number][]} */
    const pts = [];
    for (const each of events.length > 0 ? events : [event]) {
      const at = ctx.boardPoint(each);
      pts.push([at.x, at.y]);
    }
    trails.add(MINE, pts, false, performance.now());
    unsent.push(...pts);
    ctx.invalidate();
  }

  function flush() {
    if (unsent.length === 0) return;
    const max = ctx.limits().max_laser_points_per_message;
    for (let i = 0; i < unsent.length; i += max) {
      ctx.sendLive(laser(unsent.slice(i, i + max), starting && i === 0));
    }
    unsent = [];
    starting = false;
  }

  return {
    ...idle(),
    name: ToolKind.LASER,
    cursor: "crosshair",
    writes: false,
    down(event) {
      pointing = true;
      starting = true;
      unsent = [];
      const at = ctx.boardPoint(event);
      trails.add(MINE, [[at.x, at.y]], true, performance.now());
      unsent.push([at.x, at.y]);
      ctx.invalidate();
    },
    move(event) {
      if (pointing) add(event);
    },
    up(event) {
      if (pointing && event.type === "pointerup") add(event);
      pointing = false;
      flush();
    },
    cancel() {
      pointing = false;
      flush();
    },
    frame: flush,
    busy: () => pointing,
  };
}
