// Drawing on the canvas: crisp on HiDPI screens (devicePixelRatio), committed strokes cached in a layer
// that only grows until something is erased, and the strokes in flight (mine, others', my un-acked ones)
// drawn over it each frame.

import { widthAt } from "./ink.js";

/** @typedef {import("./board.js").Board} Board */
/** @typedef {import("./protocol.js").Point} Point */

/**
 * Whatever can be drawn as a stroke: a committed op, a pending one, or a live preview.
 * @typedef {Object} Drawable
 * @property {string} color
 * @property {number} width
 * @property {number} opacity
 * @property {Point[]} pts
 */

/**
 * What one frame shows, bottom to top.
 * @typedef {Object} Scene
 * @property {Board} board committed strokes
 * @property {Iterable<Drawable>} pending my finished strokes the room has not committed yet
 * @property {Iterable<Drawable>} live others' strokes in progress, then mine
 */

/** Widths are rounded to this step so that a pressure curve draws as a few paths, not one per segment. */
const WIDTH_STEP = 0.25;

/** @param {number} width */
function quantize(width) {
  return Math.max(WIDTH_STEP, Math.round(width / WIDTH_STEP) * WIDTH_STEP);
}

/**
 * Draw one stroke: round caps and joins, smoothed through the midpoints, width following the pressure.
 * @param {CanvasRenderingContext2D} ctx
 * @param {Drawable} stroke
 */
export function drawStroke(ctx, stroke) {
  const { pts } = stroke;
  if (pts.length === 0) return;
  ctx.globalAlpha = stroke.opacity;
  ctx.strokeStyle = stroke.color;
  ctx.fillStyle = stroke.color;
  const first = pts[0];
  if (pts.length === 1) {
    ctx.beginPath();
    ctx.arc(first[0], first[1], widthAt(stroke.width, first[2]) / 2, 0, Math.PI * 2);
    ctx.fill();
    return;
  }
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  let width = quantize(widthAt(stroke.width, first[2]));
  ctx.beginPath();
  ctx.moveTo(first[0], first[1]);
  for (let i = 1; i < pts.length - 1; i += 1) {
    const [x, y, pressure] = pts[i];
    const [nextX, nextY] = pts[i + 1];
    const midX = (x + nextX) / 2;
    const midY = (y + nextY) / 2;
    ctx.quadraticCurveTo(x, y, midX, midY);
    const next = quantize(widthAt(stroke.width, pressure));
    if (next !== width) {
      ctx.lineWidth = width;
      ctx.stroke();
      ctx.beginPath();
      ctx.moveTo(midX, midY);
      width = next;
    }
  }
  const last = pts[pts.length - 1];
  ctx.lineTo(last[0], last[1]);
  ctx.lineWidth = width;
  ctx.stroke();
}

export class Renderer {
  /** @type {HTMLCanvasElement} */
  #canvas;
  /** @type {CanvasRenderingContext2D} */
  #ctx;
  /** Committed strokes, drawn once. @type {HTMLCanvasElement} */
  #layer;
  /** @type {CanvasRenderingContext2D} */
  #layerCtx;
  #ratio = 1;
  /** What the layer shows: the board's epoch and how many of its strokes. */
  #layerEpoch = -1;
  #layerCount = 0;

  /** @param {HTMLCanvasElement} canvas */
  constructor(canvas) {
    this.#canvas = canvas;
    this.#ctx = context2d(canvas);
    this.#layer = document.createElement("canvas");
    this.#layerCtx = context2d(this.#layer);
    this.resize();
  }

  /** Match the canvas to its CSS size times the device pixel ratio (call on resize and zoom). */
  resize() {
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(this.#canvas.clientWidth * ratio));
    const height = Math.max(1, Math.round(this.#canvas.clientHeight * ratio));
    if (width === this.#canvas.width && height === this.#canvas.height && ratio === this.#ratio) return;
    this.#ratio = ratio;
    for (const canvas of [this.#canvas, this.#layer]) {
      canvas.width = width;
      canvas.height = height;
    }
    this.#layerEpoch = -1;
  }

  /** @param {Scene} scene */
  draw(scene) {
    this.#updateLayer(scene.board);
    const ctx = this.#ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.globalAlpha = 1;
    ctx.clearRect(0, 0, this.#canvas.width, this.#canvas.height);
    ctx.drawImage(this.#layer, 0, 0);
    ctx.setTransform(this.#ratio, 0, 0, this.#ratio, 0, 0);
    for (const stroke of scene.pending) drawStroke(ctx, stroke);
    for (const stroke of scene.live) drawStroke(ctx, stroke);
    ctx.globalAlpha = 1;
  }

  /** @param {Board} board */
  #updateLayer(board) {
    const ctx = this.#layerCtx;
    const appendOnly = board.epoch === this.#layerEpoch && board.size >= this.#layerCount;
    if (appendOnly && board.size === this.#layerCount) return;
    ctx.setTransform(this.#ratio, 0, 0, this.#ratio, 0, 0);
    if (!appendOnly) {
      ctx.save();
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.clearRect(0, 0, this.#layer.width, this.#layer.height);
      ctx.restore();
      this.#layerCount = 0;
    }
    const strokes = board.strokes;
    for (let i = this.#layerCount; i < strokes.length; i += 1) drawStroke(ctx, strokes[i]);
    ctx.globalAlpha = 1;
    this.#layerEpoch = board.epoch;
    this.#layerCount = strokes.length;
  }
}

/** @param {HTMLCanvasElement} canvas */
function context2d(canvas) {
  const ctx = canvas.getContext("2d");
  if (!ctx) throw new Error("this browser cannot draw on a canvas");
  return ctx;
}
