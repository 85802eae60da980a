// The selection tool: click an item to select it (Shift adds or removes), drag on the empty board for a
// marquee (it selects what it encloses, strokes too), drag the selection to move it, a handle to resize
// it (Shift keeps its proportions) or the round handle above it to rotate it (Shift: 15° steps). The
// whole drag is ONE `transform` op for the whole selection when the pointer lifts; meanwhile the others
// see it move through live `drag` messages. Keys: Delete, arrows nudge (Shift: 10×), Escape deselects.

import { union } from "../geometry.js";
import { HANDLES, IDENTITY, handlePoint, isIdentity, resizing, rotationAbout, rotationAngle, translation } from "../matrix.js";
import { drag as dragMessage } from "../protocol.js";
import { ToolKind } from "../tools.js";
import { idle } from "./tool.js";

/** @typedef {import("./tool.js").Tool} Tool */
/** @typedef {import("./tool.js").ToolContext} ToolContext */
/** @typedef {import("../protocol.js").Matrix} Matrix */
/** @typedef {import("../geometry.js").Rect} Rect */
/** @typedef {import("../matrix.js").Handle} Handle */

/** Handles are this big on screen (CSS pixels), and the rotation handle this far above the frame. */
const HANDLE_PX = 9;
const ROTATE_PX = 24;
/** A press moves less than this (CSS pixels) and it is a click, not a drag. */
const CLICK_PX = 3;
const SELECTION_COLOR = "#1971c2";

/**
 * @typedef {{kind: "move", from: {x: number, y: number}, moved: boolean}
 *   | {kind: "marquee", from: {x: number, y: number}, to: {x: number, y: number}, adding: boolean}
 *   | {kind: "resize", handle: Handle, frame: Rect, from: {x: number, y: number}}
 *   | {kind: "rotate", centre: [number, number], from: [number, number]}} Gesture
 */

/**
 * @param {ToolContext} ctx
 * @returns {Tool & {frameOf: () => Rect | null}}
 */
export function selectTool(ctx) {
  /** @type {Gesture | null} */
  let gesture = null;
  /** @type {Matrix} */
  let m = IDENTITY;
  let sentAt = -1;
  /** @type {Matrix | null} the last drag sent live */
  let sent = null;

  /** The selection's frame: what its visible items cover (board units); null when nothing is. */
  function frameOf() {
    /** @type {Rect | null} */
    let frame = null;
    // Selected ids not on the board (a paste not committed yet, an item someone erased) have no bounds.
    for (const id of ctx.selection) {
      const rect = ctx.boundsOf(id);
      if (rect) frame = frame ? union(frame, rect) : rect;
    }
    return frame;
  }

  /**
   * The handle under a board point, if any.
   * @param {{x: number, y: number}} at
   * @returns {Handle | "rotate" | null}
   */
  function handleAt(at) {
    const frame = frameOf();
    if (!frame) return null;
    const reach = HANDLE_PX / ctx.camera().zoom;
    const [rx, ry] = rotateHandle(frame);
    if (Math.hypot(at.x - rx, at.y - ry) <= reach) return "rotate";
    for (const handle of HANDLES) {
      const [hx, hy] = handlePoint(frame, /** @type {Handle} */ (handle));
      if (Math.abs(at.x - hx) <= reach && Math.abs(at.y - hy) <= reach) return /** @type {Handle} */ (handle);
    }
    return null;
  }

  /** @param {Rect} frame */
  function rotateHandle(frame) {
    return [frame.x + frame.w / 2, frame.y - ROTATE_PX / ctx.camera().zoom];
  }

  function endDrag() {
    const items = [...ctx.selection];
    if (!isIdentity(m) && items.length > 0) ctx.submitTransform(items, m);
    if (sent) ctx.sendLive(dragMessage([], IDENTITY));
    sent = null;
    m = IDENTITY;
    ctx.hide([]);
  }

  /**
   * Commit a transform of the selection at once (nudges).
   * @param {Matrix} matrix
   */
  function transformNow(matrix) {
    const items = [...ctx.selection];
    if (items.length > 0) ctx.submitTransform(items, matrix);
  }

  return {
    ...idle(),
    name: ToolKind.SELECT,
    cursor: "default",
    writes: true,
    down(event) {
      const at = ctx.boardPoint(event);
      const handle = handleAt(at);
      if (handle === "rotate") {
        const frame = /** @type {Rect} */ (frameOf());
        gesture = { kind: "rotate", centre: [frame.x + frame.w / 2, frame.y + frame.h / 2], from: [at.x, at.y] };
        return;
      }
      if (handle) {
        gesture = { kind: "resize", handle, frame: /** @type {Rect} */ (frameOf()), from: at };
        return;
      }
      const hit = ctx.itemsAt(at.x, at.y, 4 / ctx.camera().zoom)[0];
      if (!hit) {
        if (!event.shiftKey) ctx.selection.clear();
        gesture = { kind: "marquee", from: at, to: at, adding: event.shiftKey };
        ctx.invalidate();
        return;
      }
      if (event.shiftKey) {
        if (ctx.selection.has(hit.id)) ctx.selection.delete(hit.id);
        else ctx.selection.add(hit.id);
      } else if (!ctx.selection.has(hit.id)) {
        ctx.selection.clear();
        ctx.selection.add(hit.id);
      }
      gesture = { kind: "move", from: at, moved: false };
      ctx.invalidate();
    },
    move(event) {
      if (!gesture) return;
      const at = ctx.boardPoint(event);
      switch (gesture.kind) {
        case "marquee":
          gesture.to = at;
          break;
        case "move": {
          const dx = at.x - gesture.from.x;
          const dy = at.y - gesture.from.y;
          if (!gesture.moved && Math.hypot(dx, dy) * ctx.camera().zoom < CLICK_PX) return;
          gesture.moved = true;
          m = translation(dx, dy);
          break;
        }
        case "resize":
          m = resizing(gesture.frame, gesture.handle, at.x - gesture.from.x, at.y - gesture.from.y, event.shiftKey);
          break;
        case "rotate": {
          const [cx, cy] = gesture.centre;
          m = rotationAbout(rotationAngle(cx, cy, gesture.from, [at.x, at.y], event.shiftKey), cx, cy);
          break;
        }
      }
      if (gesture.kind !== "marquee") ctx.hide(ctx.selection);
      ctx.invalidate();
    },
    up() {
      const done = gesture;
      gesture = null;
      if (done?.kind === "marquee") {
        const x = Math.min(done.from.x, done.to.x);
        const y = Math.min(done.from.y, done.to.y);
        const rect = { x, y, w: Math.abs(done.to.x - done.from.x), h: Math.abs(done.to.y - done.from.y) };
        if (rect.w > 0 && rect.h > 0) for (const item of ctx.itemsIn(rect)) ctx.selection.add(item.id);
      } else if (done) {
        endDrag();
      }
      ctx.invalidate();
    },
    cancel() {
      gesture = null;
      if (sent) ctx.sendLive(dragMessage([], IDENTITY));
      sent = null;
      m = IDENTITY;
      ctx.hide([]);
      ctx.invalidate();
    },
    key(event) {
      if (event.key === "Escape") {
        if (gesture) this.cancel();
        ctx.selection.clear();
        ctx.invalidate();
        return true;
      }
      if (ctx.selection.size === 0 || event.ctrlKey || event.metaKey || event.altKey) return false;
      const step = (event.shiftKey ? 10 : 1) / ctx.camera().zoom;
      /** @type {Record<string, [number, number]>} */
      const arrows = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
      const arrow = arrows[event.key];
      if (arrow) {
        transformNow(translation(arrow[0], arrow[1]));
        return true;
      }
      return false;
    },
    frame() {
      // The drag goes out live once per frame, and only when it changed.
      if (!gesture || gesture.kind === "marquee" || isIdentity(m)) return;
      const now = performance.now();
      if (sent && sent.every((v, i) => v === m[i]) && now - sentAt < 1000) return;
      if (ctx.sendLive(dragMessage([...ctx.selection].slice(0, 1000), m))) {
        sent = m;
        sentAt = now;
      }
    },
    overlay(overlay) {
      if (gesture && gesture.kind !== "marquee" && !isIdentity(m)) {
        for (const id of ctx.selection) {
          const item = ctx.item(id);
          if (item) overlay.moving.push({ item, m });
        }
      }
      const zoom = ctx.camera().zoom;
      const marquee = gesture?.kind === "marquee" ? gesture : null;
      const frame = frameOf();
      const matrix = m;
      overlay.decorations.push((c) => {
        c.save();
        c.lineWidth = 1 / zoom;
        c.strokeStyle = SELECTION_COLOR;
        if (marquee) {
          c.fillStyle = "rgba(25, 113, 194, 0.08)";
          const x = Math.min(marquee.from.x, marquee.to.x);
          const y = Math.min(marquee.from.y, marquee.to.y);
          c.fillRect(x, y, Math.abs(marquee.to.x - marquee.from.x), Math.abs(marquee.to.y - marquee.from.y));
          c.strokeRect(x, y, Math.abs(marquee.to.x - marquee.from.x), Math.abs(marquee.to.y - marquee.from.y));
        }
        if (frame) {
          c.save();
          c.transform(...matrix);
          c.setLineDash([4 / zoom, 3 / zoom]);
          c.strokeRect(frame.x, frame.y, frame.w, frame.h);
          c.restore();
          if (isIdentity(matrix)) {
            const size = HANDLE_PX / zoom;
            c.fillStyle = "#ffffff";
            for (const handle of HANDLES) {
              const [hx, hy] = handlePoint(frame, /** @type {Handle} */ (handle));
              c.fillRect(hx - size / 2, hy - size / 2, size, size);
              c.strokeRect(hx - size / 2, hy - size / 2, size, size);
            }
            const [rx, ry] = rotateHandle(frame);
            c.beginPath();
            c.moveTo(frame.x + frame.w / 2, frame.y);
            c.lineTo(rx, ry);
            c.stroke();
            c.beginPath();
            c.arc(rx, ry, size / 2, 0, Math.PI * 2);
            c.fill();
            c.stroke();
          }
        }
        c.restore();
      });
    },
    busy: () => gesture !== null,
    deselect() {
      ctx.selection.clear();
    },
    frameOf,
  };
}
