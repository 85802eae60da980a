// The infinite canvas's pure parts: the camera, hit tests, the spatial index, smoothing and the paths a
// stroke is drawn as (the same as the drawing service's render.segments()).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  MAX_ZOOM,
  MIN_ZOOM,
  SpatialIndex,
  boardToScreen,
  cameraForView,
  cameraToFit,
  clampZoom,
  hitsStroke,
  intersects,
  panBy,
  screenToBoard,
  strokeBounds,
  viewOf,
  zoomAt,
} from "../../frontend/js/geometry.js";
import { Smoother, WIDTH_STEP, quantize, segments } from "../../frontend/js/smoothing.js";

const close = (actual, expected, message) => assert.ok(Math.abs(actual - expected) < 1e-9, `${message}: ${actual} != ${expected}`);

describe("camera", () => {
  it("maps board points to the screen and back", () => {
    const camera = { x: -100, y: 50, zoom: 2 };
    const screen = boardToScreen(camera, 10, 60);
    assert.deepEqual(screen, { x: 220, y: 20 });
    assert.deepEqual(screenToBoard(camera, screen.x, screen.y), { x: 10, y: 60 });
  });

  it("zooms around a screen point that stays over the same board point", () => {
    const camera = { x: 0, y: 0, zoom: 1 };
    const before = screenToBoard(camera, 300, 200);
    const zoomed = zoomAt(camera, 300, 200, 2.5);
    assert.equal(zoomed.zoom, 2.5);
    const after = screenToBoard(zoomed, 300, 200);
    close(after.x, before.x, "x");
    close(after.y, before.y, "y");
  });

  it("keeps the zoom within its range", () => {
    assert.equal(zoomAt({ x: 0, y: 0, zoom: 1 }, 0, 0, 1e9).zoom, MAX_ZOOM);
    assert.equal(clampZoom(0), 1);
    assert.equal(clampZoom(1e-9), MIN_ZOOM);
  });

  it("pans with the pointer: the board moves as far as the pointer did", () => {
    const moved = panBy({ x: 0, y: 0, zoom: 2 }, 100, -50);
    assert.deepEqual(moved, { x: -50, y: 25, zoom: 2 });
  });

  it("turns a viewport into a view message and back (follow)", () => {
    const mine = { x: 40, y: -30, zoom: 1.5 };
    const view = viewOf(mine, 1200, 800);
    assert.deepEqual(view, { x: 440, y: 236.66666666666669, zoom: 1.5 });
    const theirs = cameraForView(view, 1200, 800);
    close(theirs.x, mine.x, "x");
    close(theirs.y, mine.y, "y");
    // A smaller window shows the same centre.
    const small = cameraForView(view, 600, 400);
    const centre = screenToBoard(small, 300, 200);
    close(centre.x, view.x, "centre x");
  });

  it("fits a drawing into the window, never past 100%", () => {
    const fit = cameraToFit({ x: 0, y: 0, w: 2000, h: 1000 }, 1100, 700, 50);
    assert.equal(fit.zoom, 0.5);
    assert.equal(cameraToFit({ x: 0, y: 0, w: 10, h: 10 }, 1100, 700).zoom, 1);
  });
});

describe("hit tests", () => {
  const stroke = { width: 4, pts: [[0, 0, 0.5], [100, 0, 0.5], [100, 100, 0.5]] };

  it("bounds a stroke with its widest width", () => {
    const bounds = strokeBounds(stroke);
    assert.ok(bounds.x < -2 && bounds.y < -2 && bounds.x + bounds.w > 102 && bounds.y + bounds.h > 102);
    assert.ok(intersects(bounds, { x: 50, y: 50, w: 1, h: 1 }));
    assert.ok(!intersects(bounds, { x: 200, y: 0, w: 10, h: 10 }));
  });

  it("finds the strokes an eraser touches, and only those", () => {
    assert.ok(hitsStroke(stroke, 50, 5, 4));
    assert.ok(hitsStroke(stroke, 104, 50, 3));
    assert.ok(!hitsStroke(stroke, 50, 50, 10));
    assert.ok(hitsStroke({ width: 10, pts: [[5, 5, 1]] }, 12, 5, 3));
  });
});

describe("SpatialIndex", () => {
  it("finds what intersects a rectangle, without a scan", () => {
    const index = new SpatialIndex(100);
    for (let i = 0; i < 1000; i += 1) {
      const item = { id: `s${i}` };
      index.insert(item, { x: (i % 40) * 50, y: Math.floor(i / 40) * 50, w: 10, h: 10 });
    }
    const found = index.query({ x: 0, y: 0, w: 120, h: 60 }).map((item) => item.id).sort();
    assert.deepEqual(found, ["s0", "s1", "s2", "s40", "s41", "s42"]);
    index.remove("s41");
    assert.equal(index.query({ x: 50, y: 50, w: 5, h: 5 }).length, 0);
    assert.equal(index.size, 999);
  });

  it("keeps huge items in a list every query sees", () => {
    const index = new SpatialIndex(10);
    index.insert({ id: "huge" }, { x: -5000, y: -5000, w: 10_000, h: 10_000 });
    index.insert({ id: "small" }, { x: 0, y: 0, w: 1, h: 1 });
    assert.deepEqual(index.query({ x: 3000, y: 3000, w: 1, h: 1 }).map((i) => i.id), ["huge"]);
    assert.equal(index.query({ x: -1e6, y: -1e6, w: 2e6, h: 2e6 }).length, 2); // wider than the index: a scan
    index.remove("huge");
    assert.equal(index.huge.size, 0);
  });

  it("moves an item that is inserted again", () => {
    const index = new SpatialIndex(10);
    const item = { id: "a" };
    index.insert(item, { x: 0, y: 0, w: 1, h: 1 });
    index.insert(item, { x: 500, y: 500, w: 1, h: 1 });
    assert.equal(index.query({ x: 0, y: 0, w: 2, h: 2 }).length, 0);
    assert.equal(index.query({ x: 499, y: 499, w: 3, h: 3 }).length, 1);
  });
});

describe("segments", () => {
  it("draws one point as a dot", () => {
    assert.deepEqual(segments({ width: 4, pts: [[1, 2, 0.5]] }), [
      { width: 4, start: [1, 2], quads: [], end: null, dot: true },
    ]);
  });

  it("curves through the midpoints, in one path while the width stays", () => {
    const [only, ...rest] = segments({ width: 4, pts: [[0, 0, 0.5], [10, 0, 0.5], [20, 10, 0.5]] });
    assert.equal(rest.length, 0);
    assert.deepEqual(only, { width: 4, start: [0, 0], quads: [10, 0, 15, 5], end: [20, 10], dot: false });
  });

  it("starts a new path where pressure changes the quantized width, as render.py does", () => {
    const paths = segments({ width: 8, pts: [[0, 0, 0.5], [10, 0, 1], [20, 0, 1], [30, 0, 0]] });
    assert.deepEqual(paths.map((p) => p.width), [8, 10]);
    assert.deepEqual(paths[1].start, [15, 0]);
    assert.equal(quantize(0.01), WIDTH_STEP);
    assert.equal(quantize(3.13), 3.25);
    assert.equal(quantize(3.125), 3.25); // halves round up, like render.py's floor(x + 0.5)
  });
});

describe("Smoother", () => {
  it("holds back small jittery moves and follows fast ones", () => {
    const smoother = new Smoother(0.5);
    assert.deepEqual(smoother.push(0, 0, 0.5), [0, 0, 0.5]);
    const jitter = smoother.push(2, 0, 0.5);
    assert.ok(jitter[0] > 0 && jitter[0] < 2, `jitter is smoothed: ${jitter[0]}`);
    const fast = smoother.push(100, 0, 0.5);
    assert.equal(fast[0], 100);
  });

  it("passes points through at strength 0", () => {
    const smoother = new Smoother(0);
    smoother.push(0, 0, 0.5);
    assert.deepEqual(smoother.push(1, 1, 0.9), [1, 1, 0.9]);
  });
});

describe("segments parity with the drawing service's exports", () => {
  it("draws every stroke as render.py's segments() does", async () => {
    const { readFile } = await import("node:fs/promises");
    const fixture = JSON.parse(await readFile(new URL("./fixtures/segments.json", import.meta.url), "utf8"));
    for (const [i, { stroke, segments: want }] of fixture.cases.entries()) {
      const got = segments(stroke);
      assert.equal(got.length, want.length, `stroke ${i}: number of paths`);
      got.forEach((path, j) => {
        assert.equal(path.dot, want[j].dot, `stroke ${i} path ${j}: dot`);
        close(path.width, want[j].width, `stroke ${i} path ${j}: width`);
        [...path.start, ...path.quads, ...(path.end ?? [])].forEach((value, k) => {
          close(value, [...want[j].start, ...want[j].quads, ...(want[j].end ?? [])][k], `stroke ${i} path ${j} #${k}`);
        });
      });
    }
  });
});
