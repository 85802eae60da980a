// Pictures: where a new one is placed, which pasted or dropped files are pictures, and the kind that
// draws them (the picture once it is here, a placeholder card until then).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { IMAGE_TYPES, pictureFiles, placedBox } from "../../frontend/js/images.js";
import { Pictures, imageKind } from "../../frontend/js/kinds/image.js";
import { UNPLACED } from "../../frontend/js/kinds/place.js";

const item = { kind: /** @type {"image"} */ ("image"), id: "i1", image: "a".repeat(64), x: 10, y: 20, w: 100, h: 50 };

describe("placing a picture", () => {
  it("keeps its proportions, centred, its longest side at most the given length", () => {
    assert.deepEqual(placedBox(2000, 1000, 0, 0, 400), { x: -200, y: -100, w: 400, h: 200 });
    assert.deepEqual(placedBox(300, 600, 100, 100, 400), { x: 0, y: -100, w: 200, h: 400 });
  });

  it("is never placed larger than its own pixels", () => {
    assert.deepEqual(placedBox(40, 30, 0, 0, 400), { x: -20, y: -15, w: 40, h: 30 });
  });

  it("takes only pictures from what was pasted or dropped", () => {
    const files = [{ type: "image/png", name: "a.png" }, { type: "text/plain", name: "b.txt" }, { type: "image/svg+xml", name: "c.svg" }];
    assert.deepEqual(
      pictureFiles(/** @type {any} */ ({ files })).map((f) => f.name),
      ["a.png", "c.svg"], // the service decides: an SVG is refused there, with a reason the page shows
    );
    assert.deepEqual(pictureFiles(null), []);
    assert.deepEqual([...IMAGE_TYPES], ["image/png", "image/jpeg", "image/webp", "image/gif"]);
  });
});

describe("the image kind", () => {
  it("covers its box, under its transform", () => {
    assert.deepEqual(imageKind.bounds(item, UNPLACED), { x: 10, y: 20, w: 100, h: 50 });
    assert.deepEqual(imageKind.bounds(item, { m: [2, 0, 0, 2, 5, 5], text: null }), { x: 25, y: 45, w: 200, h: 100 });
    assert.equal(imageKind.hits(item, UNPLACED, 60, 45, 1), true);
    assert.equal(imageKind.hits(item, UNPLACED, 200, 45, 1), false);
  });

  it("fetches each picture once and says when it arrived", async () => {
    const pictures = new Pictures();
    const asked = [];
    const arrived = [];
    /** @type {(value: any) => void} */
    let resolve = () => {};
    pictures.attach(
      (digest) => {
        asked.push(digest);
        return new Promise((done) => (resolve = done));
      },
      (digest) => arrived.push(digest),
    );
    assert.equal(pictures.get("d1"), null);
    assert.equal(pictures.get("d1"), null);
    assert.equal(pictures.loading("d1"), true);
    resolve({ width: 4, height: 4 });
    await Promise.resolve();
    await Promise.resolve();
    assert.deepEqual(asked, ["d1"]);
    assert.deepEqual(arrived, ["d1"]);
    assert.deepEqual(pictures.get("d1"), { width: 4, height: 4 });
  });
});
