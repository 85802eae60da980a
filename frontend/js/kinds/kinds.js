// The kinds of items a board holds, and what the canvas needs of each: its bounds (for the spatial index
// and the tiles), a hit test (eraser, selection), what to build once per item (Path2Ds) and how to paint
// it. render.js dispatches on `kind`; one module per kind in this folder.

import { imageKind } from "./image.js";
import { shapeKind } from "./shape.js";
import { strokeKind } from "./stroke.js";
import { textKind } from "./text.js";

/** @typedef {import("../geometry.js").Rect} Rect */
/** @typedef {CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D} Context2D */

/**
 * Each function takes the item (the op that added it) and its place: the transform and the edited text the
 * board gives it (kinds/place.js).
 * @template Item, Prepared
 * @typedef {Object} ItemKind
 * @property {(item: Item, place?: Place) => Rect} bounds what its ink covers (board units)
 * @property {(item: Item, place: Place, x: number, y: number, radius: number) => boolean} hits whether a circle touches it
 * @property {(item: Item, place: Place) => Prepared} prepare built once per item and place, kept while they last
 * @property {(ctx: Context2D, item: Item, place: Place, prepared: Prepared) => void} paint in board units
 */
/** @typedef {import("./place.js").Place} Place */

/** @type {Record<string, ItemKind<any, any>>} */
export const KINDS = Object.freeze({ stroke: strokeKind, shape: shapeKind, text: textKind, note: textKind, image: imageKind });

/**
 * The kind of an item: its op's `kind` (a live preview has none: it is a stroke).
 * @param {{kind?: string}} item
 * @returns {ItemKind<any, any>}
 */
export function kindOf(item) {
  return KINDS[item.kind ?? "stroke"] ?? strokeKind;
}
