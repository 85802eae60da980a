import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  ClientKind,
  CloseCode,
  DEFAULT_LIMITS,
  DecodeError,
  OpKind,
  PROTOCOL_VERSION,
  ServerKind,
  begin,
  cursor,
  decodeServer,
  encode,
  hello,
  isValidColor,
  isValidId,
  isValidSessionName,
  limitsFrom,
  makePoint,
  points,
  presence,
  shouldAutoReconnect,
  submit,
  view,
} from "../../frontend/js/protocol.js";
import { committedStroke, welcome } from "./helpers.mjs";

describe("kinds", () => {
  it("are frozen (protocol-mirror.test.mjs compares them with the protocol package)", () => {
    for (const kinds of [ClientKind, ServerKind, OpKind, CloseCode]) assert.ok(Object.isFrozen(kinds));
    assert.equal(CloseCode.ROOM_FULL, 4009);
    assert.equal(DEFAULT_LIMITS.max_points_per_message, 256);
  });
});

describe("encoders", () => {
  it("hello carries the version, the client and since", () => {
    const message = hello({ client: "c1", name: "Ada", color: "#aabbcc", since: 7 });
    assert.deepEqual(JSON.parse(encode(message)), {
      t: "hello",
      v: PROTOCOL_VERSION,
      client: "c1",
      name: "Ada",
      color: "#aabbcc",
      since: 7,
    });
  });

  it("hello cuts long names to 64 characters", () => {
    assert.equal(hello({ client: "c", name: "x".repeat(100), color: "#000000", since: 0 }).name.length, 64);
  });

  it("begin, points and op have the wire shapes", () => {
    assert.deepEqual(begin({ stroke: "s1", tool: "pen", color: "#000000", width: 4, opacity: 1 }), {
      t: "begin",
      stroke: "s1",
      tool: "pen",
      color: "#000000",
      width: 4,
      opacity: 1,
    });
    assert.deepEqual(points("s1", [[1, 2, 0.5]]), { t: "points", stroke: "s1", pts: [[1, 2, 0.5]] });
    const op = { kind: "clear", id: "x" };
    assert.deepEqual(JSON.parse(encode(submit(op))), { t: "op", op });
  });

  it("makePoint rounds and clamps pressure", () => {
    assert.deepEqual(makePoint(1.23456, -9.87654, 1.7), [1.23, -9.88, 1]);
    assert.deepEqual(makePoint(0, 0, Number.NaN), [0, 0, 0.5]);
    assert.deepEqual(makePoint(0, 0, -1), [0, 0, 0]);
  });
});

describe("validators", () => {
  it("ids", () => {
    assert.ok(isValidId("c123.abc.1"));
    assert.ok(isValidId("a:b_c-d"));
    assert.ok(!isValidId(""));
    assert.ok(!isValidId("a b"));
    assert.ok(!isValidId("x".repeat(65)));
  });

  it("colours", () => {
    assert.ok(isValidColor("#A1b2C3"));
    assert.ok(!isValidColor("#abc"));
    assert.ok(!isValidColor("red"));
  });

  it("session names are DNS labels", () => {
    for (const good of ["a", "team-sketch", "x1", "a".repeat(63)]) assert.ok(isValidSessionName(good), good);
    for (const bad of ["", "-a", "a-", "Team", "a_b", "a".repeat(64), "a.b"]) {
      assert.ok(!isValidSessionName(bad), bad);
    }
  });
});

describe("limitsFrom", () => {
  it("keeps defaults for missing or bad fields and caps at the hard maxima", () => {
    const limits = limitsFrom({ max_points_per_stroke: 50_000, max_width: -1, max_frame_bytes: 1000, extra: 1 });
    assert.equal(limits.max_points_per_stroke, 20_000);
    assert.equal(limits.max_width, DEFAULT_LIMITS.max_width);
    assert.equal(limits.max_frame_bytes, 1000);
    assert.deepEqual(limitsFrom(null), { ...DEFAULT_LIMITS });
  });
});

describe("decodeServer", () => {
  it("accepts every server message", () => {
    const w = decodeServer(JSON.stringify(welcome({ seq: 3, ops: [committedStroke(3, "s1")] })));
    assert.equal(w.t, "welcome");
    assert.equal(w.limits.max_points_per_stroke, DEFAULT_LIMITS.max_points_per_stroke);
    assert.equal(decodeServer('{"t":"joined","who":{"id":"p","name":"","color":"#000000"}}').t, "joined");
    assert.equal(decodeServer('{"t":"left","id":"p"}').t, "left");
    assert.equal(decodeServer(JSON.stringify(committedStroke(9, "s2"))).t, "op");
    assert.equal(decodeServer('{"t":"op","seq":4,"by":"p","op":{"kind":"erase","id":"e","strokes":["s1"]}}').t, "op");
    assert.equal(decodeServer('{"t":"op","seq":5,"by":"p","op":{"kind":"clear","id":"c"}}').t, "op");
    assert.deepEqual(decodeServer('{"t":"ack","id":"s1","seq":3}'), { t: "ack", id: "s1", seq: 3 });
    assert.equal(decodeServer('{"t":"nack","id":"s1","code":"limit","reason":"too big"}').t, "nack");
    const b = decodeServer('{"t":"begin","stroke":"s","tool":"pen","color":"#000000","width":3,"by":"p"}');
    assert.equal(b.t === "begin" && b.opacity, 1);
    assert.equal(decodeServer('{"t":"points","stroke":"s","pts":[[1,2,0.5]],"by":"p"}').t, "points");
  });

  it("reads a welcome's snapshot, and its absence as null", () => {
    const stroke = committedStroke(0, "s1").op;
    const snapshot = { seq: 9, strokes: [{ stroke, seq: 3, by: "u1" }], effects: [], undo: { u1: ["s1"] } };
    const w = decodeServer(JSON.stringify(welcome({ seq: 9, snapshot })));
    assert.deepEqual(w.t === "welcome" && w.snapshot, {
      seq: 9,
      strokes: [{ stroke, seq: 3, by: "u1", undone: false, removed_by: [] }],
      effects: [],
      undo: { u1: ["s1"] },
      redo: {},
    });
    const { snapshot: _, ...older } = welcome();
    const without = decodeServer(JSON.stringify(older));
    assert.equal(without.t === "welcome" && without.snapshot, null);
    const bad = { seq: 1, strokes: [{ stroke: { kind: "clear", id: "c" }, seq: 1, by: "u" }] };
    assert.throws(() => decodeServer(JSON.stringify(welcome({ snapshot: bad }))), DecodeError);
    assert.throws(() => decodeServer(JSON.stringify(welcome({ snapshot: [stroke] }))), DecodeError);
  });

  it("fills in a participant's user, role and idle", () => {
    const joined = decodeServer('{"t":"joined","who":{"id":"p1","name":"Ann","color":"#000000"}}');
    assert.deepEqual(joined.t === "joined" && joined.who, {
      id: "p1", name: "Ann", color: "#000000", user: "", role: "editor", idle: false,
    });
    const viewer = decodeServer('{"t":"joined","who":{"id":"p1","name":"","color":"#000000","user":"u","role":"viewer","idle":true}}');
    assert.equal(viewer.t === "joined" && viewer.who.role, "viewer");
  });

  it("reads cursors, views, presence and undo/redo ops", () => {
    assert.deepEqual(decodeServer('{"t":"cursor","x":1,"y":2,"by":"p"}'), { t: "cursor", x: 1, y: 2, by: "p" });
    assert.equal(decodeServer('{"t":"view","x":1,"y":2,"zoom":0.5,"by":"p"}').t, "view");
    assert.equal(decodeServer('{"t":"presence","idle":true,"by":"p"}').t, "presence");
    const undo = decodeServer('{"t":"op","seq":3,"by":"u","op":{"kind":"undo","id":"x","target":"s1"}}');
    assert.equal(undo.t === "op" && undo.op.kind, "undo");
    assert.equal(decodeServer('{"t":"op","seq":3,"by":"u","op":{"kind":"redo","id":"x"}}').t, "op");
    for (const frame of ['{"t":"view","x":1,"y":2,"zoom":0,"by":"p"}', '{"t":"presence","idle":1,"by":"p"}']) {
      assert.throws(() => decodeServer(frame), DecodeError, frame);
    }
  });

  it("encodes cursors, views and presence within the protocol's bounds", () => {
    assert.deepEqual(cursor(1.234, 5e9), { t: "cursor", x: 1.23, y: 1_000_000 });
    assert.deepEqual(view(0, 0, 5000), { t: "view", x: 0, y: 0, zoom: 1000 });
    assert.deepEqual(presence(false), { t: "presence", idle: false });
  });

  it("rejects what is not a server message", () => {
    for (const frame of [
      "nope",
      "[]",
      '{"t":"hello"}',
      '{"t":"ack","id":"x"}',
      '{"t":"op","seq":1,"by":"p","op":{"kind":"paint","id":"x"}}',
      '{"t":"op","seq":1,"by":"p","op":{"kind":"stroke","id":"x","tool":"pen","color":"#000000","width":1,"opacity":1,"pts":[]}}',
      '{"t":"points","stroke":"s","pts":[[1,2]]}',
      '{"t":"welcome","v":1}',
    ]) {
      assert.throws(() => decodeServer(frame), DecodeError, frame);
    }
  });
});

describe("shouldAutoReconnect", () => {
  it("retries going away, abnormal closes and server errors", () => {
    for (const code of [1001, 1006, 1011, 1013, 4008, 4010, 4011]) assert.ok(shouldAutoReconnect(code), String(code));
  });
  it("leaves the client's own errors to the user", () => {
    for (const code of [1000, 1009, 4000, 4001, 4002, 4003, 4004, 4005, 4009]) {
      assert.ok(!shouldAutoReconnect(code), String(code));
    }
  });
});
