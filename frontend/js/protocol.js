// Protocol v1 as the browser speaks it: message kinds, shapes (JSDoc types), encoders and a checking decoder.
// A mirror of services/protocol/drawnet/protocol/messages.py, limits.py and errors.py. Pure: no DOM, no I/O.

export const PROTOCOL_VERSION = 1;

/** Message tags (`t`) the client sends. */
export const ClientKind = Object.freeze({
  HELLO: "hello",
  BEGIN: "begin",
  POINTS: "points",
  OP: "op",
});

/** Message tags (`t`) the room sends. */
export const ServerKind = Object.freeze({
  WELCOME: "welcome",
  JOINED: "joined",
  LEFT: "left",
  OP: "op",
  ACK: "ack",
  NACK: "nack",
  BEGIN: "begin",
  POINTS: "points",
});

/** Durable op tags (`kind`). */
export const OpKind = Object.freeze({
  STROKE: "stroke",
  ERASE: "erase",
  CLEAR: "clear",
});

export const Tool = Object.freeze({
  PEN: "pen",
  HIGHLIGHTER: "highlighter",
  LINE: "line",
});

/** WebSocket close codes the room uses; 4000-4999 are the protocol's own. */
export const CloseCode = Object.freeze({
  NORMAL: 1000,
  GOING_AWAY: 1001,
  ABNORMAL: 1006,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  TRY_AGAIN_LATER: 1013,
  MALFORMED: 4000,
  UNSUPPORTED_VERSION: 4001,
  HELLO_EXPECTED: 4002,
  FORBIDDEN: 4003,
  INVALID_SESSION: 4004,
  LIMIT_EXCEEDED: 4005,
  RATE_LIMITED: 4008,
  ROOM_FULL: 4009,
  SLOW_CONSUMER: 4010,
  IDLE_TIMEOUT: 4011,
});

/** Absolute protocol maxima (limits.py): no room configuration goes past them. */
export const HardLimits = Object.freeze({
  MAX_POINTS_PER_STROKE: 20_000,
  MAX_ID_LENGTH: 64,
  MAX_NAME_LENGTH: 64,
  MAX_ERASE_TARGETS: 1_000,
});

/**
 * The limits in force in a room, sent in `welcome`.
 * @typedef {Object} Limits
 * @property {number} max_frame_bytes
 * @property {number} max_points_per_stroke
 * @property {number} max_points_per_message
 * @property {number} max_strokes_per_board
 * @property {number} max_participants
 * @property {number} max_width
 * @property {number} max_coordinate
 */

/** The defaults of limits.py, used until a welcome says otherwise. @type {Readonly<Limits>} */
export const DEFAULT_LIMITS = Object.freeze({
  max_frame_bytes: 256 * 1024,
  max_points_per_stroke: 5_000,
  max_points_per_message: 256,
  max_strokes_per_board: 100_000,
  max_participants: 50,
  max_width: 200.0,
  max_coordinate: 1_000_000.0,
});

export const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
export const COLOR_PATTERN = /^#[0-9a-fA-F]{6}$/;
/** A session (or namespace) name: a DNS-1123 label. */
export const SESSION_NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** @typedef {"pen" | "highlighter" | "line"} ToolName */

/**
 * x, y in board units and pen pressure in [0, 1] (0.5 where the device reports none).
 * @typedef {[number, number, number]} Point
 */

/** @typedef {{id: string, name: string, color: string}} Participant */

/**
 * A finished stroke; its id is both the op id and the stroke id.
 * @typedef {Object} StrokeOp
 * @property {"stroke"} kind
 * @property {string} id
 * @property {ToolName} tool
 * @property {string} color
 * @property {number} width
 * @property {number} opacity
 * @property {Point[]} pts
 */

/** @typedef {{kind: "erase", id: string, strokes: string[]}} EraseOp */
/** @typedef {{kind: "clear", id: string}} ClearOp */
/** @typedef {StrokeOp | EraseOp | ClearOp} Op */

// ------------------------------------------------------------------------------ client → room

/**
 * @typedef {Object} Hello
 * @property {"hello"} t
 * @property {number} v
 * @property {string} client
 * @property {string} name
 * @property {string} color
 * @property {number} since
 * @property {string} [token]
 */

/**
 * Live: a stroke starts. Relayed by the room with `by` set to the author's participant id.
 * @typedef {Object} Begin
 * @property {"begin"} t
 * @property {string} stroke
 * @property {ToolName} tool
 * @property {string} color
 * @property {number} width
 * @property {number} opacity
 * @property {string} [by]
 */

/**
 * Live: more points of a stroke still being drawn.
 * @typedef {{t: "points", stroke: string, pts: Point[], by?: string}} Points
 */

/** @typedef {{t: "op", op: Op}} Submit */
/** @typedef {Hello | Begin | Points | Submit} ClientMessage */

// ------------------------------------------------------------------------------ room → client

/**
 * @typedef {Object} Welcome
 * @property {"welcome"} t
 * @property {number} v
 * @property {Participant} you
 * @property {Participant[]} participants
 * @property {number} seq the board's seq: after applying what follows, the client is at it
 * @property {StrokeOp[] | null} snapshot the whole board at `seq` (replaces the client's), or null when `ops` suffice
 * @property {Committed[]} ops committed ops after the client's `since`
 * @property {Limits} limits
 */

/** @typedef {{t: "joined", who: Participant}} Joined */
/** @typedef {{t: "left", id: string}} Left */
/** A durable op in the log, at its sequence number. @typedef {{t: "op", seq: number, by: string, op: Op}} Committed */
/** @typedef {{t: "ack", id: string, seq: number}} Ack */
/** @typedef {{t: "nack", id: string, code: string, reason: string}} Nack */
/** @typedef {Welcome | Joined | Left | Committed | Ack | Nack | Begin | Points} ServerMessage */

// ------------------------------------------------------------------------------ helpers

/** @param {unknown} value */
export function isValidId(value) {
  return typeof value === "string" && ID_PATTERN.test(value);
}

/** @param {unknown} value */
export function isValidColor(value) {
  return typeof value === "string" && COLOR_PATTERN.test(value);
}

/** @param {unknown} value */
export function isValidSessionName(value) {
  return typeof value === "string" && SESSION_NAME_PATTERN.test(value);
}

/**
 * The room's limits merged over the defaults (unknown or malformed fields keep the default).
 * @param {unknown} raw
 * @returns {Limits}
 */
export function limitsFrom(raw) {
  /** @type {Limits} */
  const limits = { ...DEFAULT_LIMITS };
  if (isObject(raw)) {
    for (const key of /** @type {(keyof Limits)[]} */ (Object.keys(DEFAULT_LIMITS))) {
      const value = raw[key];
      if (typeof value === "number" && Number.isFinite(value) && value > 0) limits[key] = value;
    }
  }
  limits.max_points_per_stroke = Math.min(limits.max_points_per_stroke, HardLimits.MAX_POINTS_PER_STROKE);
  limits.max_points_per_message = Math.min(limits.max_points_per_message, HardLimits.MAX_POINTS_PER_STROKE);
  return limits;
}

/**
 * Whether a close with this code is worth reconnecting automatically (with backoff).
 * The client-side errors (malformed, version, forbidden, bad session, limits, room full, frame too big) would
 * only fail again: the user is shown the reason and a button instead.
 * @param {number} code
 */
export function shouldAutoReconnect(code) {
  switch (code) {
    case CloseCode.NORMAL:
    case CloseCode.MESSAGE_TOO_BIG:
    case CloseCode.MALFORMED:
    case CloseCode.UNSUPPORTED_VERSION:
    case CloseCode.HELLO_EXPECTED:
    case CloseCode.FORBIDDEN:
    case CloseCode.INVALID_SESSION:
    case CloseCode.LIMIT_EXCEEDED:
    case CloseCode.ROOM_FULL:
      return false;
    default:
      return true;
  }
}

/**
 * A human description of a close, for the connection indicator.
 * @param {number} code
 * @param {string} reason
 */
export function describeClose(code, reason) {
  if (reason) return reason;
  switch (code) {
    case CloseCode.GOING_AWAY:
      return "the room is restarting";
    case CloseCode.ABNORMAL:
      return "connection lost";
    case CloseCode.MESSAGE_TOO_BIG:
      return "a message was too big for the room";
    case CloseCode.INTERNAL_ERROR:
      return "the room had an internal error";
    case CloseCode.TRY_AGAIN_LATER:
      return "the board is unavailable for a moment";
    case CloseCode.ROOM_FULL:
      return "the board is full";
    default:
      return `closed (${code})`;
  }
}

// ------------------------------------------------------------------------------ encoders

/**
 * @param {{client: string, name: string, color: string, since: number, token?: string}} fields
 * @returns {Hello}
 */
export function hello({ client, name, color, since, token }) {
  /** @type {Hello} */
  const message = {
    t: ClientKind.HELLO,
    v: PROTOCOL_VERSION,
    client,
    name: name.slice(0, HardLimits.MAX_NAME_LENGTH),
    color,
    since: Math.max(0, Math.floor(since)),
  };
  if (token) message.token = token;
  return message;
}

/**
 * @param {{stroke: string, tool: ToolName, color: string, width: number, opacity: number}} fields
 * @returns {Begin}
 */
export function begin({ stroke, tool, color, width, opacity }) {
  return { t: ClientKind.BEGIN, stroke, tool, color, width, opacity };
}

/**
 * @param {string} stroke
 * @param {Point[]} pts
 * @returns {Points}
 */
export function points(stroke, pts) {
  return { t: ClientKind.POINTS, stroke, pts };
}

/**
 * @param {Op} op
 * @returns {Submit}
 */
export function submit(op) {
  return { t: ClientKind.OP, op };
}

/**
 * One JSON text frame.
 * @param {ClientMessage} message
 */
export function encode(message) {
  return JSON.stringify(message);
}

/**
 * A point rounded to what is worth sending: 1/100 board unit, 1/1000 of pressure, pressure clamped to [0, 1].
 * @param {number} x
 * @param {number} y
 * @param {number} pressure
 * @returns {Point}
 */
export function makePoint(x, y, pressure) {
  const p = Number.isFinite(pressure) ? Math.min(1, Math.max(0, pressure)) : 0.5;
  return [Math.round(x * 100) / 100, Math.round(y * 100) / 100, Math.round(p * 1000) / 1000];
}

// ------------------------------------------------------------------------------ decoder

export class DecodeError extends Error {
  /** @override */
  name = "DecodeError";
}

/**
 * @param {unknown} value
 * @returns {value is Record<string, unknown>}
 */
function isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * @param {boolean} condition
 * @param {string} what
 * @returns {asserts condition}
 */
function check(condition, what) {
  if (!condition) throw new DecodeError(what);
}

/** @param {unknown} value */
function isString(value) {
  return typeof value === "string";
}

/** @param {unknown} value */
function isNumber(value) {
  return typeof value === "number" && Number.isFinite(value);
}

/**
 * @param {unknown} value
 * @returns {value is Point}
 */
export function isPoint(value) {
  return Array.isArray(value) && value.length === 3 && value.every(isNumber);
}

/**
 * @param {unknown} value
 * @returns {value is Point[]}
 */
function isPointList(value) {
  return Array.isArray(value) && value.every(isPoint);
}

/**
 * @param {unknown} value
 * @returns {value is Participant}
 */
function isParticipant(value) {
  return isObject(value) && isString(value.id) && isString(value.name) && isString(value.color);
}

/**
 * Check a durable op's shape.
 * @param {unknown} value
 * @returns {Op}
 */
export function decodeOp(value) {
  check(isObject(value) && isString(value.id), "op without an id");
  switch (value.kind) {
    case OpKind.STROKE:
      check(
        isString(value.tool) &&
          isString(value.color) &&
          isNumber(value.width) &&
          isNumber(value.opacity) &&
          isPointList(value.pts) &&
          value.pts.length > 0,
        `malformed stroke op ${String(value.id)}`,
      );
      break;
    case OpKind.ERASE:
      check(Array.isArray(value.strokes) && value.strokes.every(isString), `malformed erase op ${value.id}`);
      break;
    case OpKind.CLEAR:
      break;
    default:
      throw new DecodeError(`unknown op kind ${JSON.stringify(value.kind)}`);
  }
  return /** @type {Op} */ (value);
}

/**
 * @param {unknown} value
 * @returns {Committed}
 */
function decodeCommitted(value) {
  check(isObject(value) && isNumber(value.seq) && isString(value.by), "malformed committed op");
  decodeOp(value.op);
  return /** @type {Committed} */ (value);
}

/**
 * Parse and check one frame from the room. Unknown fields are kept (the protocol may grow them).
 * @param {string} frame
 * @returns {ServerMessage}
 * @throws {DecodeError}
 */
export function decodeServer(frame) {
  /** @type {unknown} */
  let value;
  try {
    value = JSON.parse(frame);
  } catch {
    throw new DecodeError("not JSON");
  }
  check(isObject(value), "not a JSON object");
  switch (value.t) {
    case ServerKind.WELCOME:
      check(
        isNumber(value.v) &&
          isParticipant(value.you) &&
          Array.isArray(value.participants) &&
          value.participants.every(isParticipant) &&
          isNumber(value.seq) &&
          Array.isArray(value.ops),
        "malformed welcome",
      );
      value.ops.forEach(decodeCommitted);
      if (value.snapshot === undefined) value.snapshot = null;
      check(value.snapshot === null || Array.isArray(value.snapshot), "malformed welcome snapshot");
      for (const stroke of value.snapshot ?? []) {
        check(decodeOp(stroke).kind === OpKind.STROKE, "a snapshot holds strokes only");
      }
      value.limits = limitsFrom(value.limits);
      return /** @type {Welcome} */ (value);
    case ServerKind.JOINED:
      check(isParticipant(value.who), "malformed joined");
      return /** @type {Joined} */ (value);
    case ServerKind.LEFT:
      check(isString(value.id), "malformed left");
      return /** @type {Left} */ (value);
    case ServerKind.OP:
      return decodeCommitted(value);
    case ServerKind.ACK:
      check(isString(value.id) && isNumber(value.seq), "malformed ack");
      return /** @type {Ack} */ (value);
    case ServerKind.NACK:
      check(isString(value.id) && isString(value.code) && isString(value.reason), "malformed nack");
      return /** @type {Nack} */ (value);
    case ServerKind.BEGIN:
      check(
        isString(value.stroke) && isString(value.tool) && isString(value.color) && isNumber(value.width),
        "malformed begin",
      );
      if (!isNumber(value.opacity)) value.opacity = 1;
      if (!isString(value.by)) value.by = "";
      return /** @type {Begin} */ (value);
    case ServerKind.POINTS:
      check(isString(value.stroke) && isPointList(value.pts), "malformed points");
      if (!isString(value.by)) value.by = "";
      return /** @type {Points} */ (value);
    default:
      throw new DecodeError(`unknown message type ${JSON.stringify(value.t)}`);
  }
}
