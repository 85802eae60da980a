// Protocol v1 as the browser speaks it: message kinds, shapes (JSDoc types), encoders and a checking decoder.
// A mirror of services/protocol/drawnet/protocol/messages.py, limits.py and errors.py. Pure: no DOM, no I/O.

export const PROTOCOL_VERSION = 1;

/** Message tags (`t`) the client sends. */
export const ClientKind = Object.freeze({
  HELLO: "hello",
  BEGIN: "begin",
  POINTS: "points",
  DRAG: "drag",
  SKETCH: "sketch",
  LASER: "laser",
  CURSOR: "cursor",
  VIEW: "view",
  PRESENCE: "presence",
  OP: "op",
  RENEW: "renew",
});

/** Message tags (`t`) the room sends. */
export const ServerKind = Object.freeze({
  WELCOME: "welcome",
  JOINED: "joined",
  LEFT: "left",
  OP: "op",
  ACK: "ack",
  NACK: "nack",
  RENEWED: "renewed",
  BEGIN: "begin",
  POINTS: "points",
  DRAG: "drag",
  SKETCH: "sketch",
  LASER: "laser",
  CURSOR: "cursor",
  VIEW: "view",
  PRESENCE: "presence",
});

/** Durable op tags (`kind`). */
export const OpKind = Object.freeze({
  STROKE: "stroke",
  SHAPE: "shape",
  TEXT: "text",
  NOTE: "note",
  IMAGE: "image",
  TRANSFORM: "transform",
  REORDER: "reorder",
  EDIT: "edit",
  ERASE: "erase",
  CLEAR: "clear",
  UNDO: "undo",
  REDO: "redo",
});

/** What a join token lets its holder do. */
export const Role = Object.freeze({
  OWNER: "owner",
  EDITOR: "editor",
  VIEWER: "viewer",
});

/** Nack codes the client treats specially (the others are a limit's name). */
export const NackCode = Object.freeze({
  FORBIDDEN: "forbidden",
  NOTHING_TO_UNDO: "nothing_to_undo",
  NOTHING_TO_REDO: "nothing_to_redo",
  STALE: "stale",
  RATE_LIMITED: "rate_limited",
  DRAINING: "draining",
});

/** The ops that add an item to the board. */
export const ITEM_KINDS = Object.freeze([OpKind.STROKE, OpKind.SHAPE, OpKind.TEXT, OpKind.NOTE, OpKind.IMAGE]);

/** An uploaded image's content hash (SHA-256, lower-case hex): messages.py `ImageHash`. */
export const IMAGE_HASH = /^[0-9a-f]{64}$/;

/** Shapes (`shape.shape`). */
export const ShapeName = Object.freeze({
  RECT: "rect",
  ELLIPSE: "ellipse",
  DIAMOND: "diamond",
  ARROW: "arrow",
  LINE: "line",
});

/** Where a `reorder` puts its items in the stacking order. */
export const Place = Object.freeze({ FRONT: "front", BACK: "back", FORWARD: "forward", BACKWARD: "backward" });

export const Align = Object.freeze({ LEFT: "left", CENTER: "center", RIGHT: "right" });

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
  TOKEN_EXPIRED: 4012,
  REVOKED: 4013,
  KICKED: 4014,
  BANNED: 4015,
  HELLO_TIMEOUT: 4016,
});

/**
 * Whether a close means the owner (or the platform) took this person's access away: the page says why
 * and stops drawing; it does not reconnect by itself.
 * @param {number} code
 */
export function isRemoval(code) {
  return code === CloseCode.REVOKED || code === CloseCode.KICKED || code === CloseCode.BANNED;
}

/** Absolute protocol maxima (limits.py): no room configuration goes past them. */
export const HardLimits = Object.freeze({
  MAX_POINTS_PER_STROKE: 20_000,
  MAX_ID_LENGTH: 64,
  MAX_NAME_LENGTH: 64,
  MAX_ERASE_TARGETS: 1_000,
  MAX_ITEMS_PER_OP: 1_000,
  MAX_TEXT_CHARS: 20_000,
  MAX_FONT_SIZE: 1_000,
  MAX_LASER_POINTS: 1_000,
  MAX_ZOOM: 1_000,
  COORDINATE_BOUND: 1_000_000,
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
 * @property {number} max_text_chars
 * @property {number} max_font_size
 * @property {number} max_laser_points_per_message
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
  max_text_chars: 4_000,
  max_font_size: 400.0,
  max_laser_points_per_message: 64,
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

/** @typedef {"owner" | "editor" | "viewer"} RoleName */

/**
 * Someone in the room. `id` names the connection (live traffic's `by`), `user` the person (committed
 * ops' `by`, and whose undo stack it is).
 * @typedef {Object} Participant
 * @property {string} id
 * @property {string} name
 * @property {string} color
 * @property {string} user
 * @property {RoleName} role
 * @property {boolean} idle
 */

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

/**
 * A shape in the box (x, y)-(x + w, y + h); a line or arrow goes from its first corner to the other.
 * @typedef {Object} ShapeOp
 * @property {"shape"} kind
 * @property {string} id
 * @property {"rect" | "ellipse" | "diamond" | "arrow" | "line"} shape
 * @property {number} x
 * @property {number} y
 * @property {number} w
 * @property {number} h
 * @property {string} color
 * @property {number} width
 * @property {number} [opacity]
 * @property {string | null} [fill]
 * @property {boolean} [rounded]
 * @property {boolean} [start_head]
 * @property {boolean} [end_head]
 */

/**
 * Text: lines split at newlines, the first one's top at y; x is each line's left, centre or right.
 * @typedef {Object} TextOp
 * @property {"text"} kind
 * @property {string} id
 * @property {number} x
 * @property {number} y
 * @property {string} text
 * @property {number} size
 * @property {string} color
 * @property {"left" | "center" | "right"} [align]
 * @property {number} [opacity]
 */

/**
 * A sticky note: a card w wide, as tall as its text needs (at least square).
 * @typedef {Object} NoteOp
 * @property {"note"} kind
 * @property {string} id
 * @property {number} x
 * @property {number} y
 * @property {number} w
 * @property {string} text
 * @property {number} size
 * @property {string} fill
 * @property {string} [color]
 * @property {"left" | "center" | "right"} [align]
 */

/**
 * A picture uploaded to the drawing service (`image`: its content hash), drawn into the box x, y, w, h.
 * @typedef {Object} ImageOp
 * @property {"image"} kind
 * @property {string} id
 * @property {string} image
 * @property {number} x
 * @property {number} y
 * @property {number} w
 * @property {number} h
 */

/** @typedef {StrokeOp | ShapeOp | TextOp | NoteOp | ImageOp} ItemOp */
/** An affine matrix [a, b, c, d, e, f], as canvas's setTransform takes it. @typedef {[number, number, number, number, number, number]} Matrix */
/** Move, resize or rotate a selection at once. @typedef {{kind: "transform", id: string, items: string[], m: Matrix}} TransformOp */
/** Move items in the stacking order. @typedef {{kind: "reorder", id: string, items: string[], to: "front" | "back" | "forward" | "backward"}} ReorderOp */
/** Replace a text's or a note's text. @typedef {{kind: "edit", id: string, item: string, text: string}} EditOp */
/** @typedef {{kind: "erase", id: string, strokes: string[]}} EraseOp */
/** @typedef {{kind: "clear", id: string}} ClearOp */
/** Undo my newest op still done; the room fills in `target`. @typedef {{kind: "undo", id: string, target?: string | null}} UndoOp */
/** Redo my newest undone op; the room fills in `target`. @typedef {{kind: "redo", id: string, target?: string | null}} RedoOp */
/** @typedef {ItemOp | TransformOp | ReorderOp | EditOp | EraseOp | ClearOp | UndoOp | RedoOp} Op */

/**
 * An item in a board state, visible or hidden (hidden ones can come back with undo or redo).
 * @typedef {Object} StrokeEntry
 * @property {ItemOp} stroke
 * @property {number} seq
 * @property {string} by
 * @property {boolean} undone
 * @property {string[]} removed_by
 * @property {Matrix | null} [m] its transform now
 * @property {string | null} [text] its text now, when an edit changed it
 */

/**
 * What an op that can still be undone or redone did.
 * @typedef {{id: string, by: string, kind: string, targets: string[], undone: boolean, m?: Matrix | null, texts?: string[] | null, to?: string | null, below?: (string | null)[] | null}} Effect
 */

/**
 * A board at `seq`: its strokes bottom to top and its undo history (messages.py `BoardState`).
 * @typedef {Object} BoardState
 * @property {number} seq
 * @property {StrokeEntry[]} strokes
 * @property {Effect[]} effects
 * @property {Record<string, string[]>} undo
 * @property {Record<string, string[]>} redo
 */

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

/**
 * Live: a selection being dragged: draw `items` with `m` after their transforms; empty `items` ends it.
 * @typedef {{t: "drag", items: string[], m: Matrix, by?: string}} Drag
 */
/**
 * Live: a shape being drawn, as it is now (`id` is its op's); `shape` null ends the preview. Never stored.
 * @typedef {{t: "sketch", id: string, shape: ShapeOp | null, by?: string}} Sketch
 */
/**
 * Live: the laser pointer's newest points (board units); `start` begins a new trail. Never stored.
 * @typedef {{t: "laser", pts: [number, number][], start: boolean, by?: string}} Laser
 */
/** Live: where my pointer is, in board units. @typedef {{t: "cursor", x: number, y: number, by?: string}} Cursor */
/** Live: my viewport's centre and zoom, so others can follow me. @typedef {{t: "view", x: number, y: number, zoom: number, by?: string}} View */
/** Live: I went idle, or came back. @typedef {{t: "presence", idle: boolean, by?: string}} Presence */
/** @typedef {Cursor | View | Presence} Awareness */

/** @typedef {{t: "op", op: Op}} Submit */
/** A fresh join token for the open connection (in-band renewal). @typedef {{t: "renew", token: string}} Renew */
/** @typedef {Hello | Begin | Points | Drag | Sketch | Laser | Cursor | View | Presence | Submit | Renew} ClientMessage */

// ------------------------------------------------------------------------------ room → client

/**
 * @typedef {Object} Welcome
 * @property {"welcome"} t
 * @property {number} v
 * @property {Participant} you
 * @property {Participant[]} participants
 * @property {number} seq the board's seq: after applying what follows, the client is at it
 * @property {BoardState | null} snapshot the whole board at `seq` (replaces the client's), or null when `ops` suffice
 * @property {Committed[]} ops committed ops after the client's `since`
 * @property {Limits} limits
 */

/** @typedef {{t: "joined", who: Participant}} Joined */
/** @typedef {{t: "left", id: string}} Left */
/** A durable op in the log, at its sequence number. @typedef {{t: "op", seq: number, by: string, op: Op}} Committed */
/** @typedef {{t: "ack", id: string, seq: number}} Ack */
/** @typedef {{t: "nack", id: string, code: string, reason: string}} Nack */
/** The room took the renewed token: the connection lasts until `exp` (unix seconds). @typedef {{t: "renewed", exp: number}} Renewed */
/** @typedef {Welcome | Joined | Left | Committed | Ack | Nack | Renewed | Begin | Points | Drag | Sketch | Laser | Cursor | View | Presence} ServerMessage */

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
 * How the API and the web app address a session: its name, or `<namespace>.<name>` for a session of
 * another namespace the platform serves (both are DNS-1123 labels, so the dot is unambiguous).
 * @param {unknown} value
 */
export function isValidSessionRef(value) {
  if (typeof value !== "string") return false;
  const [first, second, ...rest] = value.split(".");
  return rest.length === 0 && isValidSessionName(first) && (second === undefined || isValidSessionName(second));
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
  limits.max_laser_points_per_message = Math.min(limits.max_laser_points_per_message, HardLimits.MAX_LASER_POINTS);
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
    case CloseCode.REVOKED:
    case CloseCode.KICKED:
    case CloseCode.BANNED:
    case CloseCode.HELLO_TIMEOUT:
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
    case CloseCode.KICKED:
      return "the board's owner removed you from it";
    case CloseCode.BANNED:
      return "the board's owner banned you from it";
    case CloseCode.REVOKED:
      return "your access to this board was taken back";
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
 * @param {string[]} items
 * @param {Matrix} m
 * @returns {Drag}
 */
export function drag(items, m) {
  return { t: ClientKind.DRAG, items, m };
}

/**
 * @param {string} id the shape's op id
 * @param {ShapeOp | null} shape as it is now; null: the preview ends
 * @returns {Sketch}
 */
export function sketch(id, shape) {
  return { t: ClientKind.SKETCH, id, shape };
}

/**
 * @param {[number, number][]} pts board units
 * @param {boolean} start the first points of a new trail
 * @returns {Laser}
 */
export function laser(pts, start) {
  return { t: ClientKind.LASER, pts: pts.map(([x, y]) => [clampCoordinate(x), clampCoordinate(y)]), start };
}

/**
 * @param {number} x
 * @param {number} y
 * @returns {Cursor}
 */
export function cursor(x, y) {
  return { t: ClientKind.CURSOR, x: clampCoordinate(x), y: clampCoordinate(y) };
}

/**
 * @param {number} x the centre of the viewport, in board units
 * @param {number} y
 * @param {number} zoom screen pixels per board unit
 * @returns {View}
 */
export function view(x, y, zoom) {
  const z = Math.min(HardLimits.MAX_ZOOM, Math.max(1e-6, zoom));
  return { t: ClientKind.VIEW, x: clampCoordinate(x), y: clampCoordinate(y), zoom: Math.round(z * 1e6) / 1e6 };
}

/**
 * @param {boolean} idle
 * @returns {Presence}
 */
export function presence(idle) {
  return { t: ClientKind.PRESENCE, idle };
}

/**
 * A coordinate rounded to 1/100 board unit and kept inside the protocol's bounds.
 * @param {number} value
 */
function clampCoordinate(value) {
  const bound = HardLimits.COORDINATE_BOUND;
  const finite = Number.isFinite(value) ? value : 0;
  return Math.round(Math.min(bound, Math.max(-bound, finite)) * 100) / 100;
}

/**
 * @param {Op} op
 * @returns {Submit}
 */
export function submit(op) {
  return { t: ClientKind.OP, op };
}

/**
 * @param {string} token a fresh join token for the same person, role and session
 * @returns {Renew}
 */
export function renew(token) {
  return { t: ClientKind.RENEW, token };
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
 * @returns {value is Matrix}
 */
function isMatrix(value) {
  return Array.isArray(value) && value.length === 6 && value.every(isNumber);
}

/**
 * @param {unknown} value
 * @returns {value is Point[]}
 */
function isPointList(value) {
  return Array.isArray(value) && value.every(isPoint);
}

/**
 * A participant, with the defaults of messages.py for the fields an older room leaves out.
 * @param {unknown} value
 * @returns {Participant}
 */
function decodeParticipant(value) {
  check(isObject(value) && isString(value.id) && isString(value.name) && isString(value.color), "malformed participant");
  if (!isString(value.user)) value.user = "";
  if (value.role !== Role.OWNER && value.role !== Role.VIEWER) value.role = Role.EDITOR;
  value.idle = value.idle === true;
  return /** @type {Participant} */ (value);
}

/**
 * Check a board state (a welcome's snapshot).
 * @param {unknown} value
 * @returns {BoardState}
 */
export function decodeBoardState(value) {
  check(isObject(value) && isNumber(value.seq) && Array.isArray(value.strokes), "malformed board state");
  for (const entry of value.strokes) {
    check(isObject(entry) && isNumber(entry.seq) && isString(entry.by), "malformed snapshot stroke");
    check(/** @type {readonly string[]} */ (ITEM_KINDS).includes(decodeOp(entry.stroke).kind), "a snapshot holds items only");
    check(entry.m === undefined || entry.m === null || isMatrix(entry.m), "malformed snapshot transform");
    check(entry.text === undefined || entry.text === null || isString(entry.text), "malformed snapshot text");
    entry.undone = entry.undone === true;
    const removedBy = Array.isArray(entry.removed_by) ? entry.removed_by : [];
    check(removedBy.every(isString), "malformed snapshot stroke");
    entry.removed_by = removedBy;
  }
  const effects = Array.isArray(value.effects) ? value.effects : [];
  value.effects = effects;
  for (const effect of effects) {
    check(
      isObject(effect) &&
        isString(effect.id) &&
        isString(effect.by) &&
        isString(effect.kind) &&
        Array.isArray(effect.targets) &&
        effect.targets.every(isString),
      "malformed snapshot effect",
    );
    effect.undone = effect.undone === true;
  }
  for (const key of /** @type {const} */ (["undo", "redo"])) {
    if (!isObject(value[key])) value[key] = {};
    const stacks = /** @type {Record<string, unknown>} */ (value[key]);
    for (const stack of Object.values(stacks)) {
      check(Array.isArray(stack) && stack.every(isString), `malformed snapshot ${key} stack`);
    }
  }
  return /** @type {BoardState} */ (value);
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
    case OpKind.SHAPE:
      check(
        isString(value.shape) &&
          Object.values(ShapeName).includes(/** @type {any} */ (value.shape)) &&
          [value.x, value.y, value.w, value.h, value.width].every(isNumber) &&
          isString(value.color),
        `malformed shape op ${String(value.id)}`,
      );
      break;
    case OpKind.TEXT:
      check(
        [value.x, value.y, value.size].every(isNumber) && isString(value.text) && isString(value.color),
        `malformed text op ${String(value.id)}`,
      );
      break;
    case OpKind.NOTE:
      check(
        [value.x, value.y, value.w, value.size].every(isNumber) && isString(value.text) && isString(value.fill),
        `malformed note op ${String(value.id)}`,
      );
      break;
    case OpKind.IMAGE:
      check(
        isString(value.image) && IMAGE_HASH.test(value.image) && [value.x, value.y, value.w, value.h].every(isNumber),
        `malformed image op ${String(value.id)}`,
      );
      break;
    case OpKind.TRANSFORM:
      check(Array.isArray(value.items) && value.items.every(isString) && isMatrix(value.m), `malformed transform op ${value.id}`);
      break;
    case OpKind.REORDER:
      check(
        Array.isArray(value.items) && value.items.every(isString) && Object.values(Place).includes(/** @type {any} */ (value.to)),
        `malformed reorder op ${value.id}`,
      );
      break;
    case OpKind.EDIT:
      check(isString(value.item) && isString(value.text), `malformed edit op ${value.id}`);
      break;
    case OpKind.ERASE:
      check(Array.isArray(value.strokes) && value.strokes.every(isString), `malformed erase op ${value.id}`);
      break;
    case OpKind.CLEAR:
      break;
    case OpKind.UNDO:
    case OpKind.REDO:
      check(value.target === undefined || value.target === null || isString(value.target), `malformed ${value.kind} op`);
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
        isNumber(value.v) && Array.isArray(value.participants) && isNumber(value.seq) && Array.isArray(value.ops),
        "malformed welcome",
      );
      decodeParticipant(value.you);
      value.participants.forEach(decodeParticipant);
      value.ops.forEach(decodeCommitted);
      if (value.snapshot === undefined) value.snapshot = null;
      if (value.snapshot !== null) decodeBoardState(value.snapshot);
      value.limits = limitsFrom(value.limits);
      return /** @type {Welcome} */ (value);
    case ServerKind.JOINED:
      decodeParticipant(value.who);
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
    case ServerKind.RENEWED:
      check(isNumber(value.exp), "malformed renewed");
      return /** @type {Renewed} */ (value);
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
    case ServerKind.DRAG:
      check(Array.isArray(value.items) && value.items.every(isString) && isMatrix(value.m), "malformed drag");
      if (!isString(value.by)) value.by = "";
      return /** @type {Drag} */ (value);
    case ServerKind.SKETCH:
      check(isString(value.id) && isString(value.by), "malformed sketch");
      if (value.shape === undefined || value.shape === null) {
        value.shape = null;
      } else {
        check(decodeOp(value.shape).kind === OpKind.SHAPE && isObject(value.shape) && value.shape.id === value.id, "malformed sketch");
      }
      return /** @type {Sketch} */ (value);
    case ServerKind.LASER:
      check(
        Array.isArray(value.pts) &&
          value.pts.length > 0 &&
          value.pts.every((p) => Array.isArray(p) && p.length === 2 && isNumber(p[0]) && isNumber(p[1])) &&
          isString(value.by),
        "malformed laser",
      );
      value.start = value.start === true;
      return /** @type {Laser} */ (value);
    case ServerKind.CURSOR:
      check(isNumber(value.x) && isNumber(value.y) && isString(value.by), "malformed cursor");
      return /** @type {Cursor} */ (value);
    case ServerKind.VIEW:
      check(
        isNumber(value.x) && isNumber(value.y) && typeof value.zoom === "number" && value.zoom > 0 && isString(value.by),
        "malformed view",
      );
      return /** @type {View} */ (value);
    case ServerKind.PRESENCE:
      check(typeof value.idle === "boolean" && isString(value.by), "malformed presence");
      return /** @type {Presence} */ (value);
    default:
      throw new DecodeError(`unknown message type ${JSON.stringify(value.t)}`);
  }
}
