// The pen and the highlighter: freehand strokes. The others see the stroke grow live (`begin`, then
// `points` in batches each frame); on pen-up it is committed as one `stroke` op. A stroke that reaches
// the room's point limit is committed as it is and the line goes on as a new stroke.

import { StrokeBuilder, chunk, pressureOf } from "../ink.js";
import { begin, points } from "../protocol.js";
import { Smoother } from "../smoothing.js";
import { strokeStyle, usesPressure } from "../tools.js";
import { idle } from "./tool.js";

/** @typedef {import("./tool.js").Tool} Tool */
/** @typedef {import("./tool.js").ToolContext} ToolContext */

/** Strokes this short (points) are dropped rather than committed when a pinch takes the gesture away. */
const KEEP_CANCELLED_AFTER = 3;

/**
 * @param {ToolContext} ctx
 * @param {"pen" | "highlighter"} name
 * @returns {Tool}
 */
export function freehandTool(ctx, name) {
  /** @type {StrokeBuilder | null} */
  let current = null;
  /** @type {Smoother | null} */
  let smoother = null;
  let announcedIn = -1;
  const pressured = usesPressure(name);

  /** @param {StrokeBuilder} stroke */
  function announce(stroke) {
    const { tool, color, width, opacity } = stroke.style;
    announcedIn = ctx.sendLive(begin({ stroke: stroke.id, tool, color, width, opacity })) ? ctx.generation() : -1;
  }

  /**
   * Send the points not sent yet, in messages of at most max_points_per_message. A stroke is announced to
   * the others only once it has more than KEEP_CANCELLED_AFTER points: one a second finger turns into a
   * pinch (or a pen into a palm) before that is dropped unseen, and leaves no preview on their screens.
   */
  function flush() {
    if (!current) return;
    if (announcedIn === -1) {
      if (current.pts.length <= KEEP_CANCELLED_AFTER) return;
      announce(current);
    }
    const unsent = current.takeUnsent();
    // Points of a stroke this connection never saw begin would mean nothing to the others.
    if (unsent.length === 0 || announcedIn !== ctx.generation()) return;
    for (const piece of chunk(unsent, ctx.limits().max_points_per_message)) ctx.sendLive(points(current.id, piece));
  }

  /**
   * @param {PointerEvent[]} events
   * @param {boolean} lifting the pen is lifting: keep the last pressure (it reports 0), end exactly here
   */
  function add(events, lifting) {
    for (const event of events) {
      if (!current || !smoother) return;
      const at = ctx.boardPoint(event);
      const last = current.pts.at(-1);
      const raw = pressured ? pressureOf(event.pointerType, event.pressure) : 0.5;
      const pressure = lifting && last ? last[2] : raw;
      if (current.full) {
        flush();
        commit(current);
        current = current.continuation(ctx.nextId(), ctx.limits());
        announce(current);
      }
      const point = lifting ? [at.x, at.y, pressure] : smoother.push(at.x, at.y, pressure);
      current.add(point[0], point[1], point[2]);
    }
    ctx.invalidate();
  }

  /** @param {StrokeBuilder} stroke */
  function commit(stroke) {
    if (stroke.pts.length > 0) ctx.submitItem(stroke.toOp());
  }

  function end() {
    if (!current) return;
    flush();
    commit(current);
    current = null;
    smoother = null;
    ctx.invalidate();
  }

  return {
    ...idle(),
    name,
    cursor: "crosshair",
    writes: true,
    down(event) {
      const { zoom } = ctx.camera();
      const prefs = ctx.prefs();
      current = new StrokeBuilder(ctx.nextId(), strokeStyle(name, prefs.penColor, prefs.penWidth, ctx.limits().max_width), ctx.limits(), 0.75 / zoom);
      smoother = new Smoother(0.5, 1 / zoom);
      const at = ctx.boardPoint(event);
      current.add(at.x, at.y, pressured ? pressureOf(event.pointerType, event.pressure) : 0.5);
      announcedIn = -1;
    },
    move(event) {
      const coalesced = typeof event.getCoalescedEvents === "function" ? event.getCoalescedEvents() : [];
      add(coalesced.length > 0 ? coalesced : [event], false);
    },
    up(event) {
      if (event.type === "pointerup") add([event], true);
      end();
    },
    cancel() {
      if (current && current.pts.length > KEEP_CANCELLED_AFTER) {
        end();
        return;
      }
      current = null;
      smoother = null;
      ctx.invalidate();
    },
    discard() {
      current = null;
      smoother = null;
      ctx.invalidate();
    },
    overlay(overlay) {
      if (current) overlay.live.push({ ...current.style, pts: current.pts });
    },
    frame: flush,
    busy: () => current !== null,
  };
}
