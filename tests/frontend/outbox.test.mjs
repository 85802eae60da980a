import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { MAX_SENDS, Outbox, outboxKey } from "../../frontend/js/outbox.js";
import { MemoryStorage } from "./helpers.mjs";

const stroke = (id) => ({ kind: "stroke", id, tool: "pen", color: "#000000", width: 4, opacity: 1, pts: [[0, 0, 0.5]] });
const KEY = outboxKey("default", "team");

describe("Outbox", () => {
  it("keeps ops in order until they are removed", () => {
    const outbox = new Outbox(new MemoryStorage(), KEY);
    outbox.add(stroke("a"));
    outbox.add(stroke("b"));
    assert.deepEqual(outbox.ops.map((op) => op.id), ["a", "b"]);
    assert.ok(outbox.has("a"));
    assert.ok(outbox.remove("a"));
    assert.equal(outbox.remove("a"), false);
    assert.deepEqual(outbox.ops.map((op) => op.id), ["b"]);
    assert.equal(outbox.size, 1);
  });

  it("survives a reload through its storage, per session", () => {
    const storage = new MemoryStorage();
    const first = new Outbox(storage, KEY);
    first.add(stroke("a"));
    first.add(stroke("b"));
    first.remove("a");
    const again = new Outbox(storage, KEY);
    assert.deepEqual(again.ops, [stroke("b")]);
    assert.equal(new Outbox(storage, outboxKey("default", "other")).size, 0);
  });

  it("removes its key once empty", () => {
    const storage = new MemoryStorage();
    const outbox = new Outbox(storage, KEY);
    outbox.add(stroke("a"));
    outbox.remove("a");
    assert.equal(storage.getItem(KEY), null);
  });

  it("does not lose another tab's entries of the same session", () => {
    const storage = new MemoryStorage();
    const tab1 = new Outbox(storage, KEY);
    const tab2 = new Outbox(storage, KEY);
    tab1.add(stroke("a"));
    tab2.add(stroke("b"));
    tab1.remove("a");
    assert.deepEqual(new Outbox(storage, KEY).ops.map((op) => op.id), ["b"]);
  });

  it("works in memory without a storage, or when the storage fails", () => {
    const memory = new Outbox(null, KEY);
    memory.add(stroke("a"));
    assert.equal(memory.size, 1);
    const broken = {
      getItem: () => "not json",
      setItem: () => {
        throw new Error("QuotaExceededError");
      },
      removeItem: () => {},
    };
    const outbox = new Outbox(broken, KEY);
    outbox.add(stroke("a"));
    assert.deepEqual(outbox.ops.map((op) => op.id), ["a"]);
  });

  it("drops damaged stored entries and keeps the good ones", () => {
    const storage = new MemoryStorage();
    storage.setItem(KEY, JSON.stringify([{ op: { kind: "nope", id: "x" } }, { op: stroke("ok"), sends: 2 }, 5]));
    assert.deepEqual(new Outbox(storage, KEY).ops.map((op) => op.id), ["ok"]);
  });

  it("gives up on an op after MAX_SENDS sends, across reloads", () => {
    const storage = new MemoryStorage();
    let outbox = new Outbox(storage, KEY);
    outbox.add(stroke("a"));
    for (let i = 0; i < MAX_SENDS - 1; i += 1) assert.ok(outbox.noteSend("a"));
    outbox = new Outbox(storage, KEY);
    assert.ok(outbox.noteSend("a"));
    assert.equal(outbox.noteSend("a"), false);
    assert.equal(outbox.size, 0);
    assert.equal(new Outbox(storage, KEY).size, 0);
    assert.equal(outbox.noteSend("unknown"), false);
  });
});
