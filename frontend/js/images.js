// Pictures on the board: paste one, drop one on the canvas or pick one with the toolbar's image button;
// it is uploaded to the drawing service (which checks, strips and re-encodes it: docs/api.md, Images) and
// placed with an `image` op, centred where it was dropped or in the middle of the view, at most
// PLACED_SIDE_PX on screen, in its own proportions. Moved and resized like anything else with the select
// tool. The pictures themselves are fetched once each by content hash (kinds/image.js `PICTURES`).

import { ApiError } from "./api.js";
import { OpKind } from "./protocol.js";
import { PICTURES } from "./kinds/image.js";

/** What the drawing service takes (it checks the content: this only picks the files worth sending). */
export const IMAGE_TYPES = Object.freeze(["image/png", "image/jpeg", "image/webp", "image/gif"]);
/** The longest side of a newly placed picture, in screen pixels at the zoom it is placed at. */
export const PLACED_SIDE_PX = 480;

/**
 * The box a picture of `width` × `height` pixels is placed in: centred on (cx, cy), its longest side at
 * most `side` board units (no larger than its own pixels at zoom 1).
 * @param {number} width
 * @param {number} height
 * @param {number} cx
 * @param {number} cy
 * @param {number} side
 */
export function placedBox(width, height, cx, cy, side) {
  const scale = Math.min(1, side / Math.max(width, height, 1));
  const w = Math.max(1, Math.round(width * scale));
  const h = Math.max(1, Math.round(height * scale));
  return { x: Math.round(cx - w / 2), y: Math.round(cy - h / 2), w, h };
}

/**
 * The picture files among what was pasted or dropped.
 * @param {DataTransfer | null | undefined} data
 * @returns {File[]}
 */
export function pictureFiles(data) {
  if (!data) return [];
  return [...data.files].filter((file) => file.type.startsWith("image/"));
}

/**
 * @typedef {Object} ImageHost
 * @property {import("./api.js").Api} api
 * @property {string} session
 * @property {() => string | null} bearer the join token
 * @property {HTMLCanvasElement} canvas
 * @property {() => boolean} canWrite
 * @property {() => import("./geometry.js").Camera} camera
 * @property {(clientX: number, clientY: number) => {x: number, y: number}} boardPoint
 * @property {() => {x: number, y: number}} viewCentre
 * @property {() => string} nextId
 * @property {(op: import("./protocol.js").ImageOp) => void} submitItem
 * @property {(id: string) => void} select
 * @property {(digest: string) => void} arrived a picture is here: draw again what shows it
 * @property {(message: string) => void} toast
 */

/**
 * Wire paste, drop and the image button to uploads and `image` ops.
 * @param {ImageHost} host
 * @param {HTMLButtonElement} button
 * @param {HTMLInputElement} picker
 */
export function attachImages(host, button, picker) {
  PICTURES.attach(async (digest) => {
    const blob = await host.api.image(host.session, digest, host.bearer());
    return createImageBitmap(blob);
  }, host.arrived);

  /**
   * @param {File[]} files
   * @param {{x: number, y: number}} at
   */
  async function place(files, at) {
    if (!host.canWrite()) return;
    let { x, y } = at;
    for (const file of files) {
      try {
        const stored = await host.api.uploadImage(host.session, file, host.bearer());
        const side = PLACED_SIDE_PX / host.camera().zoom;
        const box = placedBox(stored.width, stored.height, x, y, side);
        const id = host.nextId();
        host.submitItem({ kind: OpKind.IMAGE, id, image: stored.image, ...box });
        host.select(id);
        // Several at once fan out down and to the right.
        x += 24 / host.camera().zoom;
        y += 24 / host.camera().zoom;
      } catch (error) {
        const why = error instanceof ApiError || error instanceof Error ? error.message : String(error);
        host.toast(`${file.name || "The picture"} was not added: ${why}`);
      }
    }
  }

  button.addEventListener("click", () => picker.click());
  picker.accept = IMAGE_TYPES.join(",");
  picker.addEventListener("change", () => {
    const files = [...(picker.files ?? [])];
    picker.value = "";
    void place(files, host.viewCentre());
  });
  host.canvas.addEventListener("dragover", (event) => {
    if (!host.canWrite() || !event.dataTransfer?.types.includes("Files")) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  host.canvas.addEventListener("drop", (event) => {
    const files = pictureFiles(event.dataTransfer);
    if (files.length === 0) return;
    event.preventDefault();
    void place(files, host.boardPoint(event.clientX, event.clientY));
  });
  return {
    /**
     * A paste with pictures in it places them (true), else it is left to the other pasting (false).
     * @param {ClipboardEvent} event
     */
    paste(event) {
      const files = pictureFiles(event.clipboardData);
      if (files.length === 0 || !host.canWrite()) return false;
      event.preventDefault();
      void place(files, host.viewCentre());
      return true;
    },
  };
}
