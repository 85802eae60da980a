// The kinds of items a board holds, and what the canvas needs of each: its bounds (for the spatial index
// and the tiles), a hit test (eraser, selection), what to build once per item (Path2Ds) and how to paint
// it. render.js dispatches on `kind`; one module per kind in this folder.

import { strokeKind } from "./stroke.js";

/** @typedef {import("../geometry.js").Rect} Rect */
/** @typedef {CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D} Context2D */

/**
 * @template Item, Prepared
 * @typedef {Object} ItemKind
 * @property {(item: Item) => Rect} bounds what its ink covers (board units)
 * @property {(item: Item, x: number, y: number, radius: number) => boolean} hits whether a circle touches it
 * @property {(item: Item) => Prepared} prepare built once per item, kept while it is on the board
 * @property {(ctx: Context2D, item: Item, prepared: Prepared) => void} paint in board units
 */

/** @type {Record<string, ItemKind<any, any>>} */
export const KINDS = Object.freeze({ stroke: strokeKind });

/**
 * The kind of an item: its op's `kind` (a live preview has none: it is a stroke).
 * @param {{kind?: string}} item
 * @returns {ItemKind<any, any>}
 */
export function kindOf(item) {
  return KINDS[item.kind ?? "stroke"] ?? strokeKind;
}
