// Laser trails: points fade out after LASER_FADE_MS and leave nothing behind.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { LASER_FADE_MS, LASER_MAX_POINTS, LaserTrails } from "../../frontend/js/laser.js";

describe("LaserTrails", () => {
  it("shows each participant's points until they fade, then forgets them", () => {
    const trails = new LaserTrails();
    trails.add("ann", [[0, 0], [5, 5]], true, 1_000);
    trails.add("bob", [[9, 9]], true, 1_500);
    assert.deepEqual(Object.fromEntries(trails.visible(1_600)), { ann: 2, bob: 1 });
    assert.equal(trails.prune(1_000 + LASER_FADE_MS), true);
    assert.deepEqual(Object.fromEntries(trails.visible(1_000 + LASER_FADE_MS)), { bob: 1 });
    assert.equal(trails.prune(1_500 + LASER_FADE_MS), false);
    assert.equal(trails.byWho.size, 0);
  });

  it("marks only the first point of a new trail as its start", () => {
    const trails = new LaserTrails();
    trails.add("ann", [[0, 0], [1, 1]], true, 0);
    trails.add("ann", [[2, 2]], false, 0);
    assert.deepEqual(trails.byWho.get("ann")?.map((p) => p.start), [true, false, false]);
  });

  it("keeps at most LASER_MAX_POINTS per participant, the newest", () => {
    const trails = new LaserTrails();
    const many = Array.from({ length: LASER_MAX_POINTS + 10 }, (_, i) => /** @type {[number, number]} */ ([i, 0]));
    trails.add("ann", many, true, 0);
    const kept = trails.byWho.get("ann") ?? [];
    assert.equal(kept.length, LASER_MAX_POINTS);
    assert.equal(kept.at(-1)?.x, LASER_MAX_POINTS + 9);
  });

  it("draws faded segments and nothing once faded", () => {
    const calls = [];
    const ctx = new Proxy(
      {},
      {
        get: (_, name) => (typeof name === "string" && ["save", "restore", "beginPath", "moveTo", "lineTo", "stroke", "arc", "fill"].includes(name) ? () => calls.push(name) : undefined),
        set: () => true,
      },
    );
    const trails = new LaserTrails();
    trails.add("ann", [[0, 0], [5, 5], [9, 9]], true, 0);
    trails.draw(/** @type {any} */ (ctx), 1, 100);
    assert.equal(calls.filter((c) => c === "stroke").length, 2);
    assert.equal(calls.filter((c) => c === "fill").length, 1);
    calls.length = 0;
    trails.draw(/** @type {any} */ (ctx), 1, LASER_FADE_MS + 1);
    assert.deepEqual(calls, ["save", "restore"]);
  });
});
