// Drawing the board on the canvas, fast at any size: committed strokes are drawn once into cached tiles
// (256 CSS pixels square, at a "render zoom"), found through a spatial index, each stroke's paths built
// once as Path2D by its kind's module (kinds/). Panning only moves tiles; zooming scales the tiles it has and redraws them sharp once
// the zoom settles, a few per frame; a new stroke is drawn on top of the tiles it touches; an erase, undo
// or redo redraws only the tiles under the strokes it changed. What is in flight (my strokes not yet
// committed, others' strokes being drawn, the eraser's marks) is drawn over the tiles each frame.
// Crisp on HiDPI screens: the canvas has devicePixelRatio pixels per CSS pixel.

import { intersects, union, visibleRect } from "./geometry.js";
import { compose } from "./board.js";
import { kindOf } from "./kinds/kinds.js";
import { UNPLACED } from "./kinds/place.js";

export { strokePaths } from "./kinds/stroke.js";

/** @typedef {import("./board.js").Board} Board */
/** @typedef {import("./board.js").BoardChange} BoardChange */
/** @typedef {import("./protocol.js").Point} Point */
/** @typedef {import("./protocol.js").StrokeOp} StrokeOp */
/** @typedef {import("./protocol.js").ItemOp} ItemOp */
/** @typedef {import("./protocol.js").Matrix} Matrix */
/** @typedef {import("./kinds/place.js").Place} Place */
/** @typedef {import("./geometry.js").Camera} Camera */
/** @typedef {import("./geometry.js").Rect} Rect */

/**
 * Whatever can be drawn as a stroke: a committed op, a pending one, or a live preview.
 * @typedef {Object} Drawable
 * @property {string} color
 * @property {number} width
 * @property {number} opacity
 * @property {Point[]} pts
 */

/**
 * What one frame shows over the committed strokes, bottom to top.
 * @typedef {Object} Scene
 * @property {Iterable<Drawable | ItemOp>} pending my finished items not yet committed
 * @property {Iterable<Drawable | ItemOp>} live items being drawn (mine and others')
 * @property {Iterable<Drawable | ItemOp>} erasing items the eraser is about to remove (drawn faded)
 * @property {Iterable<{item: ItemOp, m: Matrix}>} [moving] items being dragged (hidden from the tiles meanwhile), with the drag's matrix
 * @property {(ctx: CanvasRenderingContext2D) => void} [decorate] drawn last, in board units (selection frames)
 */

/**
 * A visible item in the index: its op, its place (transform, edited text), stacking order, bounds and what
 * its kind built for painting it.
 * @typedef {{id: string, stroke: ItemOp, place: Place, z: number, rect: Rect, prepared: unknown}} Item
 */

/** Tile edge, CSS pixels. */
export const TILE = 256;
/** Time per frame (ms) spent drawing missing tiles; the rest come in the next frames. */
const TILE_BUDGET_MS = 8;
/** How long (ms) the zoom must stay put before tiles are redrawn sharp at it. */
const SETTLE_MS = 140;
/** Cached tiles at most (each is TILE² × dpr² × 4 bytes: 256 KiB at dpr 1). */
const MAX_TILE_BYTES = 160 * 1024 * 1024;
/** The board's colour (main.css `.board`) and its dots. */
const BACKGROUND = "#fbfbfa";
const DOT = "#dcdcd6";
const GRID = 24;

/**
 * Paint any item or drawable with its kind's module, building what it needs on the spot.
 * @param {import("./kinds/kinds.js").Context2D} ctx
 * @param {Drawable | ItemOp} item
 * @param {Place} [place]
 */
function paintNow(ctx, item, place = UNPLACED) {
  const kind = kindOf(/** @type {{kind?: string}} */ (item));
  kind.paint(ctx, item, place, kind.prepare(item, place));
}

/**
 * @typedef {Object} Tile
 * @property {string} key
 * @property {number} level
 * @property {number} i
 * @property {number} j
 * @property {Rect} rect board units
 * @property {HTMLCanvasElement | OffscreenCanvas} canvas
 * @property {CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D} ctx
 * @property {number} used frame number when it was last drawn
 */

export class Renderer {
  /** @type {HTMLCanvasElement} */
  #canvas;
  /** @type {CanvasRenderingContext2D} */
  #ctx;
  #ratio = 1;
  #width = 1;
  #height = 1;
  /** @type {Camera} */
  camera = { x: 0, y: 0, zoom: 1 };
  /** The zoom the tiles are drawn at, and the one before (its tiles fill in while new ones are drawn). */
  #level = 1;
  /** @type {number | null} */
  #previousLevel = null;
  #zoomChangedAt = 0;
  /** @type {Map<string, Tile>} */
  #tiles = new Map();
  /** @type {(HTMLCanvasElement | OffscreenCanvas)[]} */
  #spare = [];
  #frame = 0;
  /** @type {import("./geometry.js").SpatialIndex<Item>} */
  #index;
  /** @type {Map<string, number>} stacking order of every stroke the board holds */
  #z = new Map();
  #nextZ = 0;
  /** @type {Set<string>} items kept off the tiles while they are dragged */
  #hidden = new Set();
  /** Counts for the bench and the test hooks. */
  stats = { tilesDrawn: 0, tilesCached: 0, complete: true };

  /**
   * @param {HTMLCanvasElement} canvas
   * @param {Board} board
   * @param {import("./geometry.js").SpatialIndex<Item>} index
   */
  constructor(canvas, board, index) {
    this.#canvas = canvas;
    this.#ctx = context2d(canvas);
    this.#index = index;
    this.board = board;
    board.onChange((change) => this.#onChange(change));
    this.#rebuild();
    this.resize();
  }

  /** Match the canvas to its CSS size times the device pixel ratio (call on resize and browser zoom). */
  resize() {
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, this.#canvas.clientWidth);
    const height = Math.max(1, this.#canvas.clientHeight);
    const pixelsWide = Math.max(1, Math.round(width * ratio));
    const pixelsHigh = Math.max(1, Math.round(height * ratio));
    this.#width = width;
    this.#height = height;
    if (pixelsWide !== this.#canvas.width || pixelsHigh !== this.#canvas.height) {
      this.#canvas.width = pixelsWide;
      this.#canvas.height = pixelsHigh;
    }
    if (ratio !== this.#ratio) {
      this.#ratio = ratio;
      this.#dropTiles();
    }
  }

  /** CSS size of the viewport. */
  get size() {
    return { width: this.#width, height: this.#height };
  }

  /** @param {Camera} camera */
  setCamera(camera) {
    if (camera.zoom !== this.camera.zoom) this.#zoomChangedAt = performance.now();
    this.camera = camera;
  }

  // ------------------------------------------------------------------------------------- the index

  /** @param {BoardChange} change */
  #onChange(change) {
    if (change.type === "reset") {
      this.#rebuild();
      this.#dropTiles();
      return;
    }
    if (change.type === "order") {
      // New stacking numbers for everything; only where the moved items are can the picture change.
      this.#z.clear();
      this.#nextZ = 0;
      for (const stroke of this.board.allStrokes()) this.#z.set(stroke.id, this.#nextZ++);
      for (const { item } of this.#index.items.values()) item.z = this.#z.get(item.id) ?? item.z;
      for (const id of change.moved) {
        const rect = this.#index.rectOf(id);
        if (rect) this.#invalidate(rect);
      }
      return;
    }
    const { stroke } = change;
    if (change.type === "hide" || change.type === "change") {
      const rect = this.#index.rectOf(stroke.id);
      this.#index.remove(stroke.id);
      if (rect) this.#invalidate(rect);
      if (change.type === "hide") return;
    }
    let z = this.#z.get(stroke.id);
    if (z === undefined) {
      z = this.#nextZ++;
      this.#z.set(stroke.id, z);
    }
    const place = this.board.placement(stroke.id) ?? UNPLACED;
    /** @type {Item} */
    const item = { id: stroke.id, stroke, place, z, rect: kindOf(stroke).bounds(stroke, place), prepared: null };
    if (this.#hidden.has(stroke.id)) return;
    this.#index.insert(item, item.rect);
    if (change.type === "show" || change.type === "change") {
      this.#invalidate(item.rect);
      return;
    }
    // Added on top: drawn over the cached tiles it touches, nothing redrawn.
    for (const tile of this.#tiles.values()) {
      if (intersects(tile.rect, item.rect)) this.#paintInto(tile, [item]);
    }
  }

  #rebuild() {
    this.#index.clear();
    this.#z.clear();
    this.#nextZ = 0;
    for (const stroke of this.board.allStrokes()) this.#z.set(stroke.id, this.#nextZ++);
    for (const stroke of this.board.strokes) {
      if (this.#hidden.has(stroke.id)) continue;
      const place = this.board.placement(stroke.id) ?? UNPLACED;
      const rect = kindOf(stroke).bounds(stroke, place);
      const z = /** @type {number} */ (this.#z.get(stroke.id));
      this.#index.insert({ id: stroke.id, stroke, place, z, rect, prepared: null }, rect);
    }
  }

  /** @param {Rect} rect */
  #invalidate(rect) {
    for (const [key, tile] of this.#tiles) {
      if (intersects(tile.rect, rect)) {
        this.#tiles.delete(key);
        this.#spare.push(tile.canvas);
      }
    }
  }

  #dropTiles() {
    for (const tile of this.#tiles.values()) this.#spare.push(tile.canvas);
    this.#tiles.clear();
    this.#spare.length = Math.min(this.#spare.length, 64);
  }

  /**
   * Keep these items off the tiles (they are being dragged and drawn moved each frame), or put them back.
   * @param {Iterable<string>} ids
   */
  setHidden(ids) {
    const next = new Set(ids);
    for (const id of this.#hidden) {
      if (next.has(id)) continue;
      this.#hidden.delete(id);
      const stroke = this.board.getStroke(id);
      if (stroke) this.#onChange({ type: "show", stroke });
    }
    for (const id of next) {
      if (this.#hidden.has(id)) continue;
      const rect = this.#index.rectOf(id);
      this.#index.remove(id);
      if (rect) this.#invalidate(rect);
      this.#hidden.add(id);
    }
  }

  /**
   * Draw again the tiles under the visible items `which` picks (a picture they show arrived).
   * @param {(item: ItemOp) => boolean} which
   */
  redrawItems(which) {
    for (const { item, rect } of this.#index.items.values()) if (which(item.stroke)) this.#invalidate(rect);
  }

  /**
   * Visible items inside a rectangle (wholly: a marquee selects what it encloses), bottom first.
   * @param {Rect} rect
   * @returns {ItemOp[]}
   */
  itemsIn(rect) {
    return this.#index
      .query(rect)
      .filter((item) => item.rect.x >= rect.x && item.rect.y >= rect.y && item.rect.x + item.rect.w <= rect.x + rect.w && item.rect.y + item.rect.h <= rect.y + rect.h)
      .sort((a, b) => a.z - b.z)
      .map((item) => item.stroke);
  }

  /**
   * The bounds of a visible item, as indexed (null when it is not).
   * @param {string} id
   */
  boundsOf(id) {
    return this.#index.rectOf(id) ?? null;
  }

  /**
   * Visible strokes whose ink a circle touches, top first.
   * @param {number} x
   * @param {number} y
   * @param {number} radius board units
   * @returns {ItemOp[]}
   */
  strokesAt(x, y, radius) {
    const near = this.#index.query({ x: x - radius, y: y - radius, w: 2 * radius, h: 2 * radius });
    return near
      .filter((item) => kindOf(item.stroke).hits(item.stroke, item.place, x, y, radius))
      .sort((a, b) => b.z - a.z)
      .map((item) => item.stroke);
  }

  /** @returns {Rect | null} what the board's visible strokes cover */
  contentBounds() {
    /** @type {Rect | null} */
    let all = null;
    for (const { rect } of this.#index.items.values()) all = all ? union(all, rect) : rect;
    return all;
  }

  // ------------------------------------------------------------------------------------- frames

  /**
   * Draw a frame. Returns whether another frame is wanted soon (tiles still missing, or a zoom settling).
   * @param {Scene} scene
   */
  draw(scene) {
    this.#frame += 1;
    const ctx = this.#ctx;
    const ratio = this.#ratio;
    const camera = this.camera;
    const now = performance.now();
    const settled = now - this.#zoomChangedAt >= SETTLE_MS;
    const scale = camera.zoom / this.#level;
    if (camera.zoom !== this.#level && (settled || scale > 2 || scale < 0.5)) {
      this.#previousLevel = this.#level;
      this.#level = camera.zoom;
    }
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.globalAlpha = 1;
    ctx.fillStyle = BACKGROUND;
    ctx.fillRect(0, 0, this.#canvas.width, this.#canvas.height);
    this.#drawGrid();

    const view = visibleRect(camera, this.#width, this.#height);
    let complete = true;
    const previous = this.#previousLevel;
    if (previous !== null) {
      // The last level's tiles, scaled, under the new ones while those are drawn.
      let missing = false;
      for (const [i, j] of this.#tilesIn(view, this.#level)) {
        if (!this.#tiles.has(tileKey(this.#level, i, j))) missing = true;
      }
      // Zoomed far out from them, the old tiles are too many and too small to be worth it.
      if (missing && previous < this.#level * 4) {
        for (const [i, j] of this.#tilesIn(view, previous)) this.#blit(previous, i, j, false);
      } else {
        this.#previousLevel = null;
      }
    }
    const deadline = now + TILE_BUDGET_MS;
    let drawn = 0;
    for (const [i, j] of this.#tilesIn(view, this.#level)) {
      const allowed = drawn === 0 || performance.now() < deadline;
      const result = this.#blit(this.#level, i, j, allowed);
      if (result === "drawn") drawn += 1;
      if (result === "missing") complete = false;
    }
    this.stats.tilesDrawn += drawn;
    this.#evict();
    this.stats.tilesCached = this.#tiles.size;
    this.stats.complete = complete;

    // What is in flight, over the tiles, in board units.
    const s = camera.zoom * ratio;
    ctx.setTransform(s, 0, 0, s, -camera.x * s, -camera.y * s);
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    for (const item of scene.moving ?? []) {
      const place = this.board.placement(item.item.id) ?? UNPLACED;
      paintNow(ctx, item.item, { m: compose(item.m, place.m), text: place.text });
    }
    for (const item of scene.erasing) {
      if (!("kind" in item) || item.kind === "stroke") {
        const stroke = /** @type {Drawable} */ (item);
        paintNow(ctx, { ...stroke, color: BACKGROUND, opacity: 0.72, width: stroke.width + 2 / camera.zoom });
        continue;
      }
      const rect = kindOf(item).bounds(item, this.board.placement(item.id) ?? UNPLACED);
      ctx.globalAlpha = 0.72;
      ctx.fillStyle = BACKGROUND;
      ctx.fillRect(rect.x, rect.y, rect.w, rect.h);
    }
    for (const item of scene.pending) paintNow(ctx, item);
    for (const item of scene.live) paintNow(ctx, item);
    ctx.globalAlpha = 1;
    scene.decorate?.(ctx);
    ctx.globalAlpha = 1;
    return !complete || camera.zoom !== this.#level;
  }

  /**
   * Tile indices covering a board rectangle at a level.
   * @param {Rect} view
   * @param {number} level
   * @returns {Generator<[number, number]>}
   */
  *#tilesIn(view, level) {
    const size = TILE / level;
    const i0 = Math.floor(view.x / size);
    const j0 = Math.floor(view.y / size);
    const i1 = Math.floor((view.x + view.w) / size);
    const j1 = Math.floor((view.y + view.h) / size);
    for (let j = j0; j <= j1; j += 1) for (let i = i0; i <= i1; i += 1) yield [i, j];
  }

  /**
   * Put one tile on the canvas: from the cache, or drawn now when `allowed`.
   * @param {number} level
   * @param {number} i
   * @param {number} j
   * @param {boolean} allowed
   * @returns {"cached" | "drawn" | "missing"}
   */
  #blit(level, i, j, allowed) {
    const key = tileKey(level, i, j);
    let tile = this.#tiles.get(key);
    let result = /** @type {"cached" | "drawn" | "missing"} */ ("cached");
    if (!tile) {
      if (!allowed) return "missing";
      tile = this.#renderTile(key, level, i, j);
      result = "drawn";
    }
    tile.used = this.#frame;
    const camera = this.camera;
    const ratio = this.#ratio;
    const s = camera.zoom * ratio;
    if (camera.zoom === level) {
      // At the tiles' own zoom: whole device pixels, no resampling, no seams.
      const ox = Math.round(-camera.x * s);
      const oy = Math.round(-camera.y * s);
      const edge = TILE * ratio;
      this.#ctx.drawImage(tile.canvas, i * edge + ox, j * edge + oy);
    } else {
      const left = Math.round((tile.rect.x - camera.x) * s);
      const top = Math.round((tile.rect.y - camera.y) * s);
      const right = Math.round((tile.rect.x + tile.rect.w - camera.x) * s);
      const bottom = Math.round((tile.rect.y + tile.rect.h - camera.y) * s);
      this.#ctx.drawImage(tile.canvas, left, top, right - left, bottom - top);
    }
    return result;
  }

  /**
   * @param {string} key
   * @param {number} level
   * @param {number} i
   * @param {number} j
   * @returns {Tile}
   */
  #renderTile(key, level, i, j) {
    const edge = Math.round(TILE * this.#ratio);
    let canvas = this.#spare.pop();
    if (!canvas) canvas = makeCanvas(edge, edge);
    if (canvas.width !== edge || canvas.height !== edge) {
      canvas.width = edge;
      canvas.height = edge;
    }
    const ctx = /** @type {CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D} */ (canvas.getContext("2d"));
    const size = TILE / level;
    /** @type {Tile} */
    const tile = { key, level, i, j, rect: { x: i * size, y: j * size, w: size, h: size }, canvas, ctx, used: this.#frame };
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, edge, edge);
    const items = this.#index.query(tile.rect).sort((a, b) => a.z - b.z);
    this.#paintInto(tile, items);
    this.#tiles.set(key, tile);
    return tile;
  }

  /**
   * @param {Tile} tile
   * @param {Item[]} items bottom to top
   */
  #paintInto(tile, items) {
    const ctx = tile.ctx;
    const s = tile.level * this.#ratio;
    ctx.setTransform(s, 0, 0, s, -tile.rect.x * s, -tile.rect.y * s);
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    for (const item of items) {
      const kind = kindOf(item.stroke);
      item.prepared ??= kind.prepare(item.stroke, item.place);
      kind.paint(ctx, item.stroke, item.place, item.prepared);
    }
    ctx.globalAlpha = 1;
  }

  /** Forget the least recently drawn tiles over the memory budget. */
  #evict() {
    const bytes = TILE * TILE * this.#ratio * this.#ratio * 4;
    const max = Math.max(64, Math.floor(MAX_TILE_BYTES / bytes));
    if (this.#tiles.size <= max) return;
    const oldest = [...this.#tiles.values()].sort((a, b) => a.used - b.used);
    for (const tile of oldest.slice(0, this.#tiles.size - max)) {
      if (tile.used === this.#frame) break;
      this.#tiles.delete(tile.key);
      if (this.#spare.length < 64) this.#spare.push(tile.canvas);
    }
  }

  /** The board's dots, moving and scaling with it (every 24 board units, sparser when zoomed out). */
  #drawGrid() {
    const { x, y, zoom } = this.camera;
    let spacing = GRID * zoom;
    while (spacing < 12) spacing *= 2;
    const ctx = this.#ctx;
    const ratio = this.#ratio;
    const step = GRID * zoom * Math.round(spacing / (GRID * zoom));
    const offsetX = (((-x * zoom) % step) + step) % step;
    const offsetY = (((-y * zoom) % step) + step) % step;
    const size = Math.max(1, Math.round(1.5 * ratio));
    ctx.fillStyle = DOT;
    ctx.beginPath();
    for (let sx = offsetX; sx < this.#width; sx += step) {
      for (let sy = offsetY; sy < this.#height; sy += step) {
        ctx.rect(Math.round(sx * ratio - size / 2), Math.round(sy * ratio - size / 2), size, size);
      }
    }
    ctx.fill();
  }
}

/**
 * @param {number} level
 * @param {number} i
 * @param {number} j
 */
function tileKey(level, i, j) {
  return `${level}:${i}:${j}`;
}

/**
 * @param {number} width
 * @param {number} height
 * @returns {HTMLCanvasElement | OffscreenCanvas}
 */
function makeCanvas(width, height) {
  if (typeof OffscreenCanvas === "function") return new OffscreenCanvas(width, height);
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  return canvas;
}

/** @param {HTMLCanvasElement} canvas */
function context2d(canvas) {
  const ctx = canvas.getContext("2d", { alpha: false });
  if (!ctx) throw new Error("this browser cannot draw on a canvas");
  return ctx;
}
