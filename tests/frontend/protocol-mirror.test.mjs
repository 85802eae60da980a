// The browser's protocol.js mirrors the Python protocol package: this reads the package's source
// (messages.py, errors.py, limits.py, tokens.py, board.py) and compares message kinds, op kinds, fields,
// close codes, limits and roles with what the browser declares. A change on either side fails here.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

import { UNDO_DEPTH } from "../../frontend/js/board.js";
import {
  ClientKind,
  CloseCode,
  DEFAULT_LIMITS,
  HardLimits,
  OpKind,
  PROTOCOL_VERSION,
  Role,
  ServerKind,
  Tool,
  begin,
  cursor,
  drag,
  hello,
  laser,
  points,
  presence,
  renew,
  sketch,
  submit,
  view,
} from "../../frontend/js/protocol.js";

const PACKAGE = new URL("../../services/protocol/drawnet/protocol/", import.meta.url);
/** @param {string} name */
const source = (name) => readFileSync(new URL(name, PACKAGE), "utf8");

const messages = source("messages.py");

/** Struct classes with a tag: class name → {tag, field: the tag field, fields: declared field names}. */
function structs() {
  const found = new Map();
  const pattern = /^class (\w+)\(msgspec\.Struct[^)]*?tag="(\w+)", tag_field="(\w+)"\):\n((?:(?: {4}.*)?\n)*)/gm;
  for (const match of messages.matchAll(pattern)) {
    const fields = [...match[4].matchAll(/^ {4}(\w+): /gm)].map((field) => field[1]);
    found.set(match[1], { tag: match[2], field: match[3], fields });
  }
  return found;
}

/**
 * The tags of a union such as `ClientMessage = Hello | Begin | ...`.
 * @param {string} name
 */
function unionTags(name) {
  // `A | B | C` on one line, or wrapped in parentheses over several (as ruff formats a long one).
  const match = new RegExp(`^${name} = (?:\\(([^()]+)\\)|(.+)$)`, "m").exec(messages);
  assert.ok(match, `${name} is not a union in messages.py`);
  const all = structs();
  return (match[1] ?? match[2]).split("|").map((member) => {
    const struct = all.get(member.trim());
    assert.ok(struct, `${member.trim()} has no tag`);
    return struct.tag;
  });
}

/** @param {string} text `256 * 1024`, `5_000`, `200.0` */
function pythonNumber(text) {
  return text
    .split("*")
    .map((part) => Number(part.trim().replaceAll("_", "")))
    .reduce((a, b) => a * b, 1);
}

const sorted = (values) => [...new Set(values)].sort();

describe("protocol.js mirrors the protocol package", () => {
  it("has the same client message kinds", () => {
    assert.deepEqual(sorted(Object.values(ClientKind)), sorted(unionTags("ClientMessage")));
  });

  it("has the same server message kinds", () => {
    assert.deepEqual(sorted(Object.values(ServerKind)), sorted(unionTags("ServerMessage")));
  });

  it("has the same durable op kinds", () => {
    assert.deepEqual(sorted(Object.values(OpKind)), sorted(unionTags("Op")));
  });

  it("encodes client messages with the fields the room declares", () => {
    const all = [...structs().values()];
    const fieldsOf = (tag) => {
      const struct = all.find((s) => s.tag === tag && s.field === "t");
      assert.ok(struct, tag);
      return sorted(["t", ...struct.fields.filter((f) => f !== "by")]);
    };
    const samples = [
      hello({ client: "c", name: "n", color: "#000000", since: 0, token: "x" }),
      begin({ stroke: "s", tool: "pen", color: "#000000", width: 1, opacity: 1 }),
      points("s", [[0, 0, 0.5]]),
      drag(["a"], [1, 0, 0, 1, 0, 0]),
      sketch("s", null),
      laser([[1, 2]], true),
      cursor(1, 2),
      view(1, 2, 1),
      presence(true),
      submit({ kind: "clear", id: "c" }),
      renew("x"),
    ];
    assert.deepEqual(sorted(samples.map((m) => m.t)), sorted(Object.values(ClientKind)));
    for (const message of samples) assert.deepEqual(sorted(Object.keys(message)), fieldsOf(message.t), message.t);
  });

  it("has the same tools, roles and protocol version", () => {
    assert.deepEqual(sorted(Object.values(Tool)), sorted(JSON.parse(`[${/^Tool = Literal\[(.+)\]$/m.exec(messages)?.[1]}]`)));
    const role = /^Role = Literal\[(.+)\]$/m.exec(source("tokens.py"));
    assert.deepEqual(sorted(Object.values(Role)), sorted(JSON.parse(`[${role?.[1]}]`)));
    assert.equal(PROTOCOL_VERSION, Number(/^PROTOCOL_VERSION = (\d+)$/m.exec(messages)?.[1]));
  });

  it("has the same close codes", () => {
    const python = Object.fromEntries(
      [...source("errors.py").matchAll(/^ {4}([A-Z_]+) = (\d+)/gm)].map((m) => [m[1], Number(m[2])]),
    );
    const { ABNORMAL, ...browser } = CloseCode; // 1006 is the browser's own: a close without a frame
    assert.equal(ABNORMAL, 1006);
    assert.deepEqual(browser, python);
  });

  it("has the same limits, hard caps and undo depth", () => {
    const limits = source("limits.py");
    const body = limits.slice(limits.indexOf("class Limits"));
    const defaults = Object.fromEntries(
      [...body.matchAll(/^ {4}(\w+): (?:int|float) = (.+)$/gm)].map((m) => [m[1], pythonNumber(m[2])]),
    );
    const { max_coordinate: coordinate, ...browser } = DEFAULT_LIMITS;
    assert.deepEqual(browser, defaults);
    const hard = (name) => pythonNumber(new RegExp(`^${name} = (.+)$`, "m").exec(limits)?.[1] ?? "NaN");
    assert.equal(coordinate, hard("COORDINATE_BOUND"));
    assert.equal(HardLimits.COORDINATE_BOUND, hard("COORDINATE_BOUND"));
    assert.equal(HardLimits.MAX_POINTS_PER_STROKE, hard("HARD_MAX_POINTS_PER_STROKE"));
    assert.equal(HardLimits.MAX_ID_LENGTH, hard("HARD_MAX_ID_LENGTH"));
    assert.equal(HardLimits.MAX_NAME_LENGTH, hard("HARD_MAX_NAME_LENGTH"));
    assert.equal(HardLimits.MAX_ERASE_TARGETS, hard("HARD_MAX_ERASE_TARGETS"));
    assert.equal(HardLimits.MAX_LASER_POINTS, hard("HARD_MAX_LASER_POINTS"));
    assert.equal(HardLimits.MAX_ZOOM, Number(/zoom: Annotated\[float, msgspec\.Meta\(gt=0, le=(\d+)\)\]/.exec(messages)?.[1]));
    assert.equal(UNDO_DEPTH, Number(/^UNDO_DEPTH = (\d+)$/m.exec(source("board.py"))?.[1]));
  });
});
