// The image: a picture uploaded to the drawing service, stretched into its box under the item's
// transform, as render/pictures.py draws it. The pictures themselves come from `PICTURES`, which fetches
// each once (by its content hash) and tells its listener when one arrives, so the tiles under it are
// drawn again; until then, or when it cannot be had, the item is a grey card with a frame.

import { UNPLACED, boxBounds, toLocal } from "./place.js";

/** @typedef {import("../protocol.js").ImageOp} ImageOp */
/** @typedef {import("./place.js").Place} Place */

export const PLACEHOLDER_FILL = "#e9ecef";
export const PLACEHOLDER_LINE = "#adb5bd";
export const PLACEHOLDER_WIDTH = 2;

/** @typedef {CanvasImageSource & {width: number, height: number}} Picture */

/** Pictures by content hash: fetched once, kept while the page lives. */
export class Pictures {
  /** @type {Map<string, Picture | "loading" | "failed">} */
  #pictures = new Map();
  /** @type {((digest: string) => Promise<Picture>) | null} */
  #load = null;
  /** @type {((digest: string) => void) | null} */
  #listener = null;

  /**
   * How to get a picture (the board's page: fetch it with the join token, decode it), and who to tell when
   * one arrived.
   * @param {(digest: string) => Promise<Picture>} load
   * @param {(digest: string) => void} listener
   */
  attach(load, listener) {
    this.#load = load;
    this.#listener = listener;
  }

  /**
   * A picture that is here (one uploaded from this page is here at once).
   * @param {string} digest
   * @param {Picture} picture
   */
  put(digest, picture) {
    this.#pictures.set(digest, picture);
    this.#listener?.(digest);
  }

  /**
   * The picture, or null while it loads (asked for the first time, it starts loading) or when it failed.
   * @param {string} digest
   * @returns {Picture | null}
   */
  get(digest) {
    const found = this.#pictures.get(digest);
    if (found === undefined && this.#load) {
      const load = this.#load;
      this.#pictures.set(digest, "loading");
      load(digest).then(
        (picture) => this.put(digest, picture),
        () => {
          this.#pictures.set(digest, "failed");
          this.#listener?.(digest);
        },
      );
      return null;
    }
    return typeof found === "object" ? found : null;
  }

  /** @returns {string[]} the pictures that are here */
  ready() {
    return [...this.#pictures].filter(([, picture]) => typeof picture === "object").map(([digest]) => digest);
  }

  /** @param {string} digest whether the picture is being fetched */
  loading(digest) {
    return this.#pictures.get(digest) === "loading";
  }
}

/** The page's pictures (one board per page). */
export const PICTURES = new Pictures();

/**
 * A canvas filter pictures are drawn through: in dark mode the canvas is shown inverted (main.css), and
 * a photo must not be, so it is drawn through the inverse first (theme.js PICTURE_FILTER; "none" in light).
 */
let pictureFilter = "none";
/** @param {string} filter */
export function setPictureFilter(filter) {
  pictureFilter = filter;
}

/** @type {import("./kinds.js").ItemKind<ImageOp, null>} */
export const imageKind = {
  bounds(item, place = UNPLACED) {
    return boxBounds(item.x, item.y, item.x + item.w, item.y + item.h, place.m);
  },
  hits(item, place, x, y, radius) {
    const local = toLocal(place.m, x, y);
    const reach = radius * local.scale;
    return (
      local.x >= item.x - reach && local.x <= item.x + item.w + reach && local.y >= item.y - reach && local.y <= item.y + item.h + reach
    );
  },
  prepare: () => null,
  paint(ctx, item, place) {
    ctx.save();
    if (place.m) ctx.transform(...place.m);
    const picture = PICTURES.get(item.image);
    if (picture) {
      ctx.imageSmoothingEnabled = true;
      ctx.imageSmoothingQuality = "high";
      ctx.filter = pictureFilter;
      ctx.drawImage(picture, item.x, item.y, item.w, item.h);
    } else {
      ctx.fillStyle = PLACEHOLDER_FILL;
      ctx.fillRect(item.x, item.y, item.w, item.h);
      ctx.strokeStyle = PLACEHOLDER_LINE;
      ctx.lineWidth = PLACEHOLDER_WIDTH;
      ctx.strokeRect(item.x, item.y, item.w, item.h);
    }
    ctx.restore();
  },
};
