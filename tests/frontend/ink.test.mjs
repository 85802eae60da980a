import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  MIN_POINT_DISTANCE,
  StrokeBuilder,
  chunk,
  pressureOf,
  strokeCapacity,
  widthAt,
} from "../../frontend/js/ink.js";
import { DEFAULT_LIMITS, encode, isValidId, submit } from "../../frontend/js/protocol.js";

const style = { tool: "pen", color: "#123456", width: 4, opacity: 1 };

describe("pressure and width", () => {
  it("uses a pen's pressure and 0.5 for everything else", () => {
    assert.equal(pressureOf("pen", 0.8), 0.8);
    assert.equal(pressureOf("pen", 0), 0.5);
    assert.equal(pressureOf("mouse", 0.5), 0.5);
    assert.equal(pressureOf("touch", 1), 0.5);
  });

  it("scales the width mildly", () => {
    assert.equal(widthAt(4, 0.5), 4);
    assert.equal(widthAt(4, 0), 3);
    assert.equal(widthAt(4, 1), 5);
  });
});

describe("limits", () => {
  it("a stroke holds max_points_per_stroke points, fewer when a frame could not carry them", () => {
    assert.equal(strokeCapacity(DEFAULT_LIMITS), 5000);
    assert.equal(strokeCapacity({ ...DEFAULT_LIMITS, max_frame_bytes: 41_024 }), 1000);
    assert.equal(strokeCapacity({ ...DEFAULT_LIMITS, max_points_per_stroke: 1 }), 2);
  });

  it("chunks keep order and size", () => {
    assert.deepEqual(chunk([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
    assert.deepEqual(chunk([], 3), []);
  });
});

describe("StrokeBuilder", () => {
  it("skips points closer than MIN_POINT_DISTANCE", () => {
    const builder = new StrokeBuilder("s1", style, DEFAULT_LIMITS);
    assert.ok(builder.add(0, 0, 0.5));
    assert.equal(builder.add(MIN_POINT_DISTANCE / 2, 0, 0.5), false);
    assert.ok(builder.add(10, 0, 0.5));
    assert.deepEqual(builder.pts, [[0, 0, 0.5], [10, 0, 0.5]]);
  });

  it("hands out each point once for live messages", () => {
    const builder = new StrokeBuilder("s1", style, DEFAULT_LIMITS);
    builder.add(0, 0, 0.5);
    builder.add(5, 5, 0.5);
    assert.equal(builder.takeUnsent().length, 2);
    assert.deepEqual(builder.takeUnsent(), []);
    builder.add(9, 9, 0.5);
    assert.deepEqual(builder.takeUnsent(), [[9, 9, 0.5]]);
  });

  it("fills up at the limit and continues from its last point", () => {
    const limits = { ...DEFAULT_LIMITS, max_points_per_stroke: 3 };
    const builder = new StrokeBuilder("s1", style, limits);
    for (let i = 0; i < 5; i += 1) builder.add(i * 10, 0, 0.5);
    assert.ok(builder.full);
    assert.equal(builder.pts.length, 3);
    const next = builder.continuation("s2", limits);
    assert.deepEqual(next.pts, [[20, 0, 0.5]]);
    assert.equal(next.id, "s2");
    assert.deepEqual(next.style, builder.style);
  });

  it("keeps the width and points within the room's limits", () => {
    const limits = { ...DEFAULT_LIMITS, max_width: 10, max_coordinate: 100 };
    const builder = new StrokeBuilder("s1", { ...style, width: 50 }, limits);
    builder.add(500, -500, 0.5);
    assert.equal(builder.style.width, 10);
    assert.deepEqual(builder.pts, [[100, -100, 0.5]]);
  });

  it("makes a stroke op that fits one frame", () => {
    const builder = new StrokeBuilder("c1.ab.1", style, DEFAULT_LIMITS);
    for (let i = 0; i < 6000; i += 1) builder.add(-999_999.99 + i, 999_999.99 - i, 0.123);
    const op = builder.toOp();
    assert.equal(op.kind, "stroke");
    assert.ok(isValidId(op.id));
    assert.equal(op.pts.length, 5000);
    assert.ok(encode(submit(op)).length < DEFAULT_LIMITS.max_frame_bytes);
  });
});
