// Texts and sticky notes, as the drawing service's render/text.py draws them: DejaVu Sans ("Drawnet
// Sans", fonts/), glyphs placed by the font's own advances (fontKerning "none"), one line per newline,
// each baseline ASCENT font sizes below its line's top, lines LINE_HEIGHT font sizes apart. A note is a
// rounded card as tall as its text needs (at least square) with its text inside a padding.

import { UNPLACED, boxBounds, toLocal } from "./place.js";

/** @typedef {import("../protocol.js").TextOp} TextOp */
/** @typedef {import("../protocol.js").NoteOp} NoteOp */
/** @typedef {import("./place.js").Place} Place */
/** @typedef {{lines: [string, number, number][], box: [number, number, number, number]}} Layout */

export const FONT_FAMILY = '"Drawnet Sans"';
/** DejaVu Sans's ascender over its units per em (1901 / 2048): a line's baseline below its top. */
export const ASCENT = 1901 / 2048;
export const LINE_HEIGHT = 1.25;
/** A note's text is NOTE_PADDING font sizes from the card's edges, at least MIN_NOTE_PADDING board units. */
export const NOTE_PADDING = 0.75;
export const MIN_NOTE_PADDING = 8;
export const NOTE_RADIUS = 6;

/** @type {CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D | null} */
let measurer = null;

/**
 * The width of a line at a font size, as the canvas draws it.
 * @param {string} line
 * @param {number} size
 */
export function lineWidth(line, size) {
  if (!measurer) {
    const canvas = typeof OffscreenCanvas === "function" ? new OffscreenCanvas(1, 1) : document.createElement("canvas");
    measurer = /** @type {CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D} */ (canvas.getContext("2d"));
  }
  setFont(measurer, size);
  return measurer.measureText(line).width;
}

/**
 * @param {CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D} ctx
 * @param {number} size
 */
function setFont(ctx, size) {
  ctx.font = `${size}px ${FONT_FAMILY}`;
  ctx.fontKerning = "none";
  ctx.textAlign = "left";
  ctx.textBaseline = "alphabetic";
}

/** @param {number} size */
export function notePadding(size) {
  return Math.max(MIN_NOTE_PADDING, NOTE_PADDING * size);
}

/**
 * @param {NoteOp} note
 * @param {string} text
 */
export function noteHeight(note, text) {
  return Math.max(note.w, 2 * notePadding(note.size) + text.split("\n").length * LINE_HEIGHT * note.size);
}

/**
 * Where each line starts (its left end and baseline) and the box (render/text.py `layout`).
 * @param {TextOp | NoteOp} item
 * @param {string | null} edited
 * @returns {Layout}
 */
export function layout(item, edited) {
  const text = edited ?? item.text;
  const size = item.size;
  const lines = text.split("\n");
  const widths = lines.map((line) => lineWidth(line, size));
  const align = item.align ?? "left";
  let anchor;
  let top;
  /** @type {[number, number, number, number]} */
  let box;
  if (item.kind === "note") {
    const pad = notePadding(size);
    const left = item.x + pad;
    const right = item.x + item.w - pad;
    anchor = align === "left" ? left : align === "center" ? (left + right) / 2 : right;
    top = item.y + pad;
    box = [item.x, item.y, item.x + item.w, item.y + noteHeight(item, text)];
  } else {
    anchor = item.x;
    top = item.y;
    const widest = Math.max(...widths);
    const start = align === "left" ? anchor : align === "center" ? anchor - widest / 2 : anchor - widest;
    box = [start, top, start + widest, top + lines.length * LINE_HEIGHT * size];
  }
  return {
    lines: lines.map((line, i) => {
      const width = widths[i];
      const x = align === "left" ? anchor : align === "center" ? anchor - width / 2 : anchor - width;
      return [line, x, top + i * LINE_HEIGHT * size + ASCENT * size];
    }),
    box,
  };
}

/** @type {import("./kinds.js").ItemKind<TextOp | NoteOp, Layout>} */
export const textKind = {
  bounds(item, place = UNPLACED) {
    const [l, t, r, b] = layout(item, place.text).box;
    return boxBounds(l, t, r, b, place.m);
  },
  hits(item, place, x, y, radius) {
    const local = toLocal(place.m, x, y);
    const reach = radius * local.scale;
    const [l, t, r, b] = layout(item, place.text).box;
    return local.x >= l - reach && local.x <= r + reach && local.y >= t - reach && local.y <= b + reach;
  },
  prepare: (item, place) => layout(item, place.text),
  paint(ctx, item, place, laid) {
    ctx.save();
    if (place.m) ctx.transform(...place.m);
    ctx.globalAlpha = 1;
    if (item.kind === "note") {
      const [l, t, r, b] = laid.box;
      ctx.fillStyle = item.fill;
      ctx.beginPath();
      ctx.roundRect(l, t, r - l, b - t, NOTE_RADIUS);
      ctx.fill();
    } else {
      ctx.globalAlpha = item.opacity ?? 1;
    }
    setFont(ctx, item.size);
    ctx.fillStyle = item.color ?? "#1e1e1e";
    for (const [line, x, y] of laid.lines) ctx.fillText(line, x, y);
    ctx.restore();
  },
};
