// A board (`/s/<session>`): the canvas, the tools, the people here and the connection, wired together.
// The rules live in the pure modules (board.js, outbox.js, connection.js, geometry.js, ink.js, tools.js);
// drawing in render.js; the participant list and cursors in people.js.

import { Announcer } from "./announce.js";
import { Api, ApiError, roomSocketUrl } from "./api.js";
import { Board } from "./board.js";
import { Connection } from "./connection.js";
import { capitalize, element, local, perTab, toast } from "./dom.js";
import {
  SpatialIndex,
  cameraForView,
  cameraToFit,
  clampZoom,
  panBy,
  screenToBoard,
  union,
  viewOf,
  zoomAt,
} from "./geometry.js";
import { CLIENT_CHANNEL, PALETTE, claimClientId, loadPrefs, makeIdFactory, savePrefs } from "./identity.js";
import { attachHistory } from "./history.js";
import { attachImages } from "./images.js";
import { attachSettings } from "./settings.js";
import { PICTURES } from "./kinds/image.js";
import { Outbox, outboxKey } from "./outbox.js";
import { Moderation } from "./moderation.js";
import { People } from "./people.js";
import {
  DEFAULT_LIMITS,
  HardLimits,
  ITEM_KINDS,
  NackCode,
  OpKind,
  Role,
  ServerKind,
  cursor,
  hello,
  isRemoval,
  isValidColor,
  presence,
  view,
} from "./protocol.js";
import { rememberBoard } from "./recent.js";
import { Renderer } from "./render.js";
import { boardPath } from "./routes.js";
import { JoinTokens } from "./tokens.js";
import { ToolKind, isDrawingTool, shortcut, strokeStyle } from "./tools.js";
import { compose } from "./board.js";
import { clipped, copied, pasteFrom } from "./clipboard.js";
import { kindOf } from "./kinds/kinds.js";
import { IDENTITY } from "./matrix.js";
import { eraserTool } from "./tools/eraser.js";
import { handTool } from "./tools/hand.js";
import { LaserTrails } from "./laser.js";
import { laserTool } from "./tools/laser.js";
import { setPictureFilter } from "./kinds/image.js";
import { PICTURE_FILTER } from "./theme.js";
import { freehandTool } from "./tools/pen.js";
import { selectTool as selectionTool } from "./tools/select.js";
import { shapeTool } from "./tools/shape.js";
import { textTool } from "./tools/text.js";

/** @typedef {import("./api.js").Config} Config */
/** @typedef {import("./protocol.js").Participant} Participant */
/** @typedef {import("./protocol.js").StrokeOp} StrokeOp */
/** @typedef {import("./protocol.js").ItemOp} ItemOp */
/** @typedef {import("./protocol.js").Matrix} Matrix */
/** @typedef {import("./protocol.js").Committed} Committed */
/** @typedef {import("./protocol.js").ServerMessage} ServerMessage */
/** @typedef {import("./protocol.js").Welcome} Welcome */
/** @typedef {import("./protocol.js").Limits} Limits */
/** @typedef {import("./protocol.js").Op} Op */
/** @typedef {import("./connection.js").ConnectionStatus} ConnectionStatus */
/** @typedef {import("./identity.js").Prefs} Prefs */
/** @typedef {import("./render.js").Drawable} Drawable */
/** @typedef {import("./geometry.js").Camera} Camera */
/** @typedef {import("./tools.js").ToolKindName} ToolKindName */
/** @typedef {import("./tools.js").OrderPlace} OrderPlace */
/** @typedef {import("./tools/tool.js").Tool} Tool */

/**
 * Someone else's stroke in progress, and when it last grew (ms).
 * @typedef {Drawable & {by: string, seen: number}} Preview
 */

/** A preview that has not grown for this long (ms) is dropped: its stroke was refused, or its author lost. */
const PREVIEW_IDLE_MS = 30_000;
/** An ended drag is shown this long (ms) at most while its transform is on its way. */
const DRAG_LINGER_MS = 3_000;
/** Cursor positions go out at most this often (ms); viewports too. */
const CURSOR_EVERY_MS = 50;
const VIEW_EVERY_MS = 150;
/** No pointer or key for this long (ms), or a hidden tab: the others see me as away. */
const IDLE_AFTER_MS = 60_000;
/** Zoom steps of the buttons and keys. */
const ZOOM_STEP = 1.25;

/**
 * Ask a first-time visitor for a name and colour.
 * @param {Prefs} prefs
 * @returns {Promise<Prefs>}
 */
function askProfile(prefs) {
  const dialog = element("profile-dialog", HTMLDialogElement);
  if (typeof dialog.showModal !== "function") return Promise.resolve(prefs);
  const nameInput = element("profile-name", HTMLInputElement);
  const colorInput = element("profile-color", HTMLInputElement);
  nameInput.value = prefs.name;
  colorInput.value = prefs.color;
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        const color = isValidColor(colorInput.value) ? colorInput.value : prefs.color;
        const chosen = { ...prefs, name: nameInput.value.trim(), color, penColor: color };
        savePrefs(local(), chosen);
        resolve(chosen);
      },
      { once: true },
    );
    dialog.showModal();
  });
}

/**
 * Call back whenever the device pixel ratio changes (browser zoom, another screen).
 * @param {() => void} callback
 */
function watchPixelRatio(callback) {
  const query = window.matchMedia(`(resolution: ${window.devicePixelRatio}dppx)`);
  query.addEventListener(
    "change",
    () => {
      callback();
      watchPixelRatio(callback);
    },
    { once: true },
  );
}

/**
 * A function that runs at most once per `ms`, the last call always running in the end.
 * @param {() => void} run
 * @param {number} ms
 */
function throttle(run, ms) {
  let last = 0;
  /** @type {number | undefined} */
  let timer;
  return () => {
    const wait = last + ms - Date.now();
    if (wait <= 0) {
      window.clearTimeout(timer);
      timer = undefined;
      last = Date.now();
      run();
    } else if (timer === undefined) {
      timer = window.setTimeout(() => {
        timer = undefined;
        last = Date.now();
        run();
      }, wait);
    }
  };
}

/**
 * Save a downloaded file.
 * @param {Blob} blob
 * @param {string} filename
 */
function saveFile(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** @param {EventTarget | null} target */
function isTyping(target) {
  return (
    target instanceof HTMLInputElement ||
    target instanceof HTMLTextAreaElement ||
    target instanceof HTMLSelectElement ||
    (target instanceof HTMLElement && target.isContentEditable)
  );
}

/**
 * @param {Config} config
 * @param {string} session
 * @param {string | null} linkFromUrl a share link's code, when the page was opened from one
 */
export async function startBoard(config, session, linkFromUrl) {
  document.title = `${session} · Drawnet`;
  element("board", HTMLDivElement).hidden = false;
  const sessionName = element("session-name", HTMLSpanElement);
  sessionName.textContent = session;

  const canvas = element("canvas", HTMLCanvasElement);
  const statusBox = element("status", HTMLDivElement);
  const statusText = element("status-text", HTMLSpanElement);
  const statusDetail = element("status-detail", HTMLParagraphElement);
  const statusPending = element("status-pending", HTMLParagraphElement);
  const reconnectButton = element("reconnect", HTMLButtonElement);
  const penColor = element("pen-color", HTMLInputElement);
  const penWidth = element("pen-width", HTMLInputElement);
  const widthDot = element("width-dot", HTMLSpanElement);
  const hint = element("hint", HTMLParagraphElement);
  const undoButton = element("undo", HTMLButtonElement);
  const redoButton = element("redo", HTMLButtonElement);
  const zoomLevel = element("zoom-level", HTMLButtonElement);
  const viewOnlyBadge = element("view-only", HTMLSpanElement);
  const toolButtons = /** @type {HTMLButtonElement[]} */ ([...document.querySelectorAll("#toolbar [data-tool]")]);

  // A share link's code is kept for the tab (token renewals need it) and taken out of the address bar.
  const linkKey = `drawnet.link.${config.namespace}.${session}`;
  if (linkFromUrl) {
    perTab()?.setItem(linkKey, linkFromUrl);
    window.history.replaceState(null, "", boardPath(session, config.injected));
  }
  const link = linkFromUrl ?? perTab()?.getItem(linkKey) ?? null;

  const stored = loadPrefs(local());
  const prefs = stored.saved ? stored.prefs : await askProfile(stored.prefs);
  const channel = "BroadcastChannel" in window ? new BroadcastChannel(CLIENT_CHANNEL) : null;
  const clientId = await claimClientId(perTab(), channel);
  const nextId = makeIdFactory(clientId);
  const api = new Api(config.apiUrl);
  const tokens = new JoinTokens({
    api,
    session,
    namespace: config.namespace,
    storage: perTab(),
    name: () => prefs.name,
    link,
  });

  // ---- state
  const board = new Board();
  const renderer = new Renderer(canvas, board, new SpatialIndex());
  const outbox = new Outbox(local(), outboxKey(config.namespace, session));
  /** @type {Limits} */
  let limits = { ...DEFAULT_LIMITS };
  /** Others' strokes in progress, by stroke id. @type {Map<string, Preview>} */
  const previews = new Map();
  /** My finished items not on the board yet (sent, or waiting to be), by id. @type {Map<string, ItemOp>} */
  const inflight = new Map();
  /** Strokes my unconfirmed erase ops remove, by op id: drawn faded until the erase is committed. */
  /** @type {Map<string, ItemOp[]>} */
  const erasing = new Map();
  /** My transforms not yet committed, by op id: their items are drawn moved meanwhile. */
  /** @type {Map<string, {items: string[], m: Matrix}>} */
  const transforming = new Map();
  /** Others' shapes being drawn (live `sketch`), by the shape's id. */
  /** @type {Map<string, {shape: ItemOp, by: string, seen: number}>} */
  const sketches = new Map();
  /** Others' drags in progress (live `drag`), by participant; `ended` once they let go. */
  /** @type {Map<string, {items: string[], m: Matrix, seen: number, ended: boolean}>} */
  const drags = new Map();
  /** Laser pointer trails, mine and everyone's (fading; nothing of them is ever stored). */
  const lasers = new LaserTrails();
  /** What I have selected (the select tool's, shared with the keyboard and the clipboard). */
  /** @type {Set<string>} */
  const selection = new Set();
  /** Whether new rectangles, ellipses and diamonds are filled (the toolbar's toggle, remembered). */
  let filled = local()?.getItem("drawnet.fill") === "1";
  /** How new texts and notes are aligned, and whether new rectangles have round corners (remembered). */
  const savedAlign = local()?.getItem("drawnet.align");
  /** @type {"left" | "center" | "right"} */
  let align = savedAlign === "center" || savedAlign === "right" ? savedAlign : "left";
  let roundCorners = local()?.getItem("drawnet.corners") !== "sharp";
  /** My ops not yet seen committed: sent from this page, or left in the outbox by an earlier one. */
  /** @type {Set<string>} */
  const unconfirmed = new Set();
  /** Undos and redos waiting for those. @type {("undo" | "redo")[]} */
  const undoQueue = [];
  /** Acked ops of mine and their seq, until the board has reached it. @type {Map<string, number>} */
  const acked = new Map();
  for (const op of outbox.ops) {
    unconfirmed.add(op.id);
    if ((/** @type {readonly string[]} */ (ITEM_KINDS)).includes(op.kind)) inflight.set(op.id, /** @type {ItemOp} */ (op));
  }
  const cameraKey = `drawnet.camera.${config.namespace}.${session}`;
  /** @type {Camera} */
  let camera = loadCamera();
  let cameraMoved = true;
  /** @type {ToolKindName} */
  let tool = ToolKind.PEN;
  let spaceHeld = false;
  let idle = false;
  let lastInput = Date.now();

  const people = new People(
    element("participants", HTMLUListElement),
    element("cursors", HTMLDivElement),
    (target) => {
      if (!target) return;
      const seen = people.views.get(target.id);
      if (seen) setCamera(cameraForView(seen, renderer.size.width, renderer.size.height), true);
      toast(`Following ${target.name || "Guest"}: move the board to stop`);
    },
  );

  /** @returns {Camera} */
  function loadCamera() {
    try {
      const raw = JSON.parse(perTab()?.getItem(cameraKey) ?? "null");
      if (raw && [raw.x, raw.y, raw.zoom].every(Number.isFinite)) return { x: raw.x, y: raw.y, zoom: clampZoom(raw.zoom) };
    } catch {
      // A fresh camera below.
    }
    return { x: -canvas.clientWidth / 2, y: -canvas.clientHeight / 2, zoom: 1 };
  }

  /**
   * Move the camera. `following`: the move comes from the participant I follow (anything else stops it).
   * @param {Camera} next
   * @param {boolean} [following]
   */
  function setCamera(next, following = false) {
    if (!following && people.following) people.follow(null);
    camera = { x: next.x, y: next.y, zoom: clampZoom(next.zoom) };
    cameraMoved = true;
    zoomLevel.textContent = `${Math.round(camera.zoom * 100)}%`;
    invalidate();
    sendView();
    saveCamera();
  }
  const saveCamera = throttle(() => perTab()?.setItem(cameraKey, JSON.stringify(camera)), 500);

  /** My role: the welcome's, or before it the join token's (so a page reloaded offline still draws). */
  const role = () => people.me?.role ?? tokens.current?.role ?? null;
  /** Whether I may change the board (a viewer may not, and nobody whose role is not known yet). */
  const canWrite = () => !removed && role() !== null && role() !== Role.VIEWER;
  const isOwner = () => people.me?.role === Role.OWNER;
  /** The owner (or the platform) took my access away: the page says why and draws no more. */
  let removed = false;
  const moderation = new Moderation({
    api,
    session,
    isOwner,
    guestSwitch: element("guest-access", HTMLLabelElement),
    guestToggle: element("guest-access-toggle", HTMLInputElement),
    say: (message) => toast(message),
  });
  people.moderation = moderation;
  people.counter = element("people-count", HTMLSpanElement);
  const announcer = new Announcer(element("announcer", HTMLDivElement));
  /** @param {Participant | undefined} who */
  const nameOf = (who) => who?.name || "A guest";

  // ---- the panel of people: folded away on phones behind a button ("3 here"), always open on wider screens
  const panel = element("panel", HTMLElement);
  const panelToggle = element("panel-toggle", HTMLButtonElement);
  panelToggle.addEventListener("click", () => {
    const open = !panel.classList.contains("open");
    panel.classList.toggle("open", open);
    panelToggle.setAttribute("aria-expanded", String(open));
  });

  // ---- the connection
  const connection = new Connection({
    // The room's URL comes with each join token (fetched just before each connect): the platform's own
    // (on Kubernetes the session's route, /rooms/<namespace>/<session>), not one this page guesses.
    url: () => tokens.current?.room_url || roomSocketUrl(config, session),
    token: (options) => tokens.get(options),
    outbox,
    hello: (token) => hello({ client: clientId, name: prefs.name, color: prefs.color, since: board.seq, token }),
    isCommitted: (opId) => board.hasOp(opId),
    onWelcome,
    onMessage,
    onStatus: showStatus,
  });
  // Join tokens live minutes: renewed in the background and handed to the open connection.
  tokens.keepFresh((token) => connection.renewToken(token));

  /** @param {Welcome} welcome */
  function onWelcome(welcome) {
    if (welcome.snapshot) {
      board.loadState(welcome.snapshot);
    } else if (welcome.seq < board.seq) {
      // The room's log is behind what this page saw (it was reset): start over from an empty board.
      board.reset();
      connection.reconnect();
      return;
    }
    limits = welcome.limits;
    penWidth.max = String(Math.min(40, Math.floor(limits.max_width)));
    previews.clear();
    people.reset(welcome.you, welcome.participants);
    for (const committed of welcome.ops) applyCommitted(committed);
    for (const id of [...inflight.keys()]) if (board.hasOp(id)) inflight.delete(id);
    for (const id of [...erasing.keys()]) if (board.hasOp(id)) erasing.delete(id);
    for (const id of [...unconfirmed]) if (board.hasOp(id) || !outbox.has(id)) confirm(id);
    showRole();
    void moderation.refresh();
    rememberBoard(local(), session);
    cameraMoved = true;
    invalidate();
    sendView(true);
  }

  /** @param {ServerMessage} message */
  function onMessage(message) {
    switch (message.t) {
      case ServerKind.OP:
        applyCommitted(message);
        break;
      case ServerKind.ACK:
        // Drawn from `inflight` until the committed op itself arrives (the ack may come first).
        if (board.hasOp(message.id)) inflight.delete(message.id);
        acked.set(message.id, message.seq);
        settleAcked();
        break;
      case ServerKind.NACK:
        onNack(message.id, message.code, message.reason);
        break;
      case ServerKind.JOINED:
        if (message.who.id !== people.me?.id && !people.all.has(message.who.id)) {
          announcer.say(`${nameOf(message.who)} joined`);
        }
        people.joined(message.who);
        sendView(true); // so the newcomer can follow me at once
        break;
      case ServerKind.LEFT:
        if (people.all.has(message.id)) announcer.say(`${nameOf(people.all.get(message.id))} left`);
        people.left(message.id);
        drags.delete(message.id);
        lasers.forget(message.id);
        for (const [id, preview] of previews) if (preview.by === message.id) previews.delete(id);
        for (const [id, shape] of sketches) if (shape.by === message.id) sketches.delete(id);
        invalidate();
        break;
      case ServerKind.BEGIN:
        if (message.by && message.by === people.me?.id) break;
        previews.set(message.stroke, {
          by: message.by ?? "",
          color: message.color,
          width: message.width,
          opacity: message.opacity,
          pts: [],
          seen: Date.now(),
        });
        break;
      case ServerKind.POINTS: {
        const preview = previews.get(message.stroke);
        if (!preview) break;
        const room = limits.max_points_per_stroke - preview.pts.length;
        if (room > 0) preview.pts.push(...message.pts.slice(0, room));
        preview.seen = Date.now();
        invalidate();
        break;
      }
      case ServerKind.DRAG:
        if (!message.by || message.by === people.me?.id) break;
        if (message.items.length === 0) {
          const dragging = drags.get(message.by);
          if (dragging) Object.assign(dragging, { ended: true, seen: Date.now() });
        } else {
          drags.set(message.by, { items: message.items, m: message.m, seen: Date.now(), ended: false });
        }
        invalidate();
        break;
      case ServerKind.LASER:
        if (!message.by || message.by === people.me?.id) break;
        lasers.add(message.by, message.pts, message.start, performance.now());
        invalidate();
        break;
      case ServerKind.SKETCH:
        if (!message.by || message.by === people.me?.id) break;
        if (message.shape === null || board.hasOp(message.id)) sketches.delete(message.id);
        else sketches.set(message.id, { shape: message.shape, by: message.by, seen: Date.now() });
        invalidate();
        break;
      case ServerKind.CURSOR:
        if (message.by) people.cursor(message.by, message.x, message.y, camera);
        break;
      case ServerKind.VIEW:
        if (!message.by) break;
        people.views.set(message.by, { x: message.x, y: message.y, zoom: message.zoom });
        if (people.following === message.by) {
          setCamera(cameraForView(message, renderer.size.width, renderer.size.height), true);
        }
        break;
      case ServerKind.PRESENCE:
        if (message.by) people.presence(message.by, message.idle);
        break;
    }
  }

  /**
   * @param {string} id
   * @param {string} code
   * @param {string} reason
   */
  function onNack(id, code, reason) {
    confirm(id);
    const stroke = inflight.get(id);
    inflight.delete(id);
    erasing.delete(id);
    transforming.delete(id);
    invalidate();
    if (code === NackCode.NOTHING_TO_UNDO || code === NackCode.NOTHING_TO_REDO || code === NackCode.STALE) {
      updateUndoButtons();
      return;
    }
    if (code === NackCode.FORBIDDEN) {
      toast(capitalize(reason));
      return;
    }
    toast(stroke ? `A stroke was not saved: ${reason}` : `Not saved: ${reason}`);
  }

  /** @param {Committed} committed */
  function applyCommitted(committed) {
    board.apply(committed);
    confirm(committed.op.id);
    settleAcked();
    inflight.delete(committed.op.id);
    erasing.delete(committed.op.id);
    transforming.delete(committed.op.id);
    previews.delete(committed.op.id);
    sketches.delete(committed.op.id); // the shape someone was drawing has landed
    const { op } = committed;
    if (op.kind === OpKind.TRANSFORM) {
      // Someone's drag preview ends where their transform lands.
      const moved = new Set(op.items);
      for (const [by, dragging] of drags) if (dragging.items.some((id) => moved.has(id))) drags.delete(by);
    }
    updateUndoButtons();
    invalidate();
  }

  // ---- the role: viewers look, editors and owners draw
  function showRole() {
    const viewer = !canWrite();
    document.body.classList.toggle("view-only", viewer);
    viewOnlyBadge.hidden = !viewer;
    for (const item of document.querySelectorAll(".owner-only")) {
      /** @type {HTMLElement} */ (item).hidden = !isOwner();
    }
    hint.textContent = viewer ? "View only: drag to look around." : "Draw anywhere. Share the link to draw together.";
    if (viewer && tools[tool].writes) selectTool(ToolKind.HAND);
    if (viewer && gesture?.tool.writes) {
      gesture.tool.cancel();
      gesture = null;
    }
    updateUndoButtons();
  }

  function updateUndoButtons() {
    const user = people.me?.user ?? "";
    undoButton.disabled = !canWrite() || board.undoTarget(user) === null;
    redoButton.disabled = !canWrite() || board.redoTarget(user) === null;
  }

  // ---- the status indicator
  /** @type {number | undefined} */
  let countdown;
  /** The connection state last said through the live region. @type {string | null} */
  let announcedState = null;
  /** @param {ConnectionStatus} status */
  function showStatus(status) {
    window.clearInterval(countdown);
    if (status.state !== announcedState) {
      announcedState = status.state;
      const why = status.reason ? `: ${status.reason}` : "";
      announcer.say(
        { live: "Connected: live", connecting: "Connecting…", offline: `Offline${why}` }[status.state] ?? status.state,
      );
    }
    if (status.state === "offline" && status.code !== undefined && isRemoval(status.code)) {
      removed = true;
      tokens.stopRenewing();
      const notice = element("removed-notice", HTMLDivElement);
      element("removed-reason", HTMLParagraphElement).textContent = capitalize(status.reason ?? "");
      notice.hidden = false;
      showRole();
    }
    statusBox.dataset.state = status.state;
    reconnectButton.hidden = status.state !== "offline" || removed;
    reconnectButton.textContent = status.willRetry ? "Retry now" : "Reconnect";
    statusText.textContent = { connecting: "Connecting…", live: "Live", offline: "Offline" }[status.state];
    const reason = status.reason ? capitalize(status.reason) : "";
    statusDetail.hidden = status.state !== "offline";
    statusDetail.textContent = reason;
    if (status.state === "offline" && status.willRetry) {
      const retryAt = Date.now() + (status.retryInMs ?? 0);
      const tick = () => {
        const seconds = Math.max(0, Math.ceil((retryAt - Date.now()) / 1000));
        statusDetail.textContent = `${reason}. Retrying in ${seconds} s…`;
      };
      tick();
      countdown = window.setInterval(tick, 1000);
    }
    invalidate();
  }
  reconnectButton.addEventListener("click", () => connection.reconnect());
  window.addEventListener("online", () => {
    if (connection.status.state === "offline") connection.reconnect();
  });

  // ---- live awareness: cursor, viewport, presence
  /** @type {{x: number, y: number} | null} */
  let myCursor = null;
  const sendCursor = throttle(() => {
    if (myCursor) connection.sendLive(cursor(myCursor.x, myCursor.y));
  }, CURSOR_EVERY_MS);
  const sendViewSoon = throttle(() => {
    const { width, height } = renderer.size;
    const mine = viewOf(camera, width, height);
    connection.sendLive(view(mine.x, mine.y, mine.zoom));
  }, VIEW_EVERY_MS);
  /** @param {boolean} [now] */
  function sendView(now = false) {
    if (!now) {
      sendViewSoon();
      return;
    }
    const { width, height } = renderer.size;
    const mine = viewOf(camera, width, height);
    connection.sendLive(view(mine.x, mine.y, mine.zoom));
  }
  /** @param {boolean} away */
  function setIdle(away) {
    if (away === idle) return;
    idle = away;
    connection.sendLive(presence(away));
  }
  function noteInput() {
    lastInput = Date.now();
    if (idle && document.visibilityState === "visible") setIdle(false);
  }
  window.setInterval(() => {
    if (Date.now() - lastInput >= IDLE_AFTER_MS) setIdle(true);
  }, 5_000);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") setIdle(true);
    else noteInput();
  });

  // ---- the toolbar
  const swatches = element("swatches", HTMLDivElement);
  for (const color of PALETTE) {
    const swatch = document.createElement("button");
    swatch.type = "button";
    swatch.className = "swatch";
    swatch.dataset.color = color;
    swatch.dataset.testid = `swatch-${color.slice(1)}`;
    swatch.style.setProperty("--swatch", color);
    swatch.title = color;
    swatch.setAttribute("role", "radio");
    swatch.setAttribute("aria-label", `Colour ${color}`);
    swatch.addEventListener("click", () => setPenColor(color));
    swatches.append(swatch);
  }

  function showPen() {
    const width = strokeStyle(tool === ToolKind.HIGHLIGHTER ? tool : ToolKind.PEN, prefs.penColor, prefs.penWidth, limits.max_width).width;
    const size = Math.max(5, Math.min(36, width * camera.zoom));
    widthDot.style.width = widthDot.style.height = `${size}px`;
    widthDot.style.color = prefs.penColor;
    widthDot.style.opacity = tool === ToolKind.HIGHLIGHTER ? "0.5" : "1";
    penColor.value = prefs.penColor;
    penWidth.value = String(prefs.penWidth);
    for (const swatch of swatches.children) {
      const chosen = /** @type {HTMLElement} */ (swatch).dataset.color === prefs.penColor;
      swatch.classList.toggle("active", chosen);
      swatch.setAttribute("aria-checked", String(chosen));
    }
  }

  /** @param {string} color */
  function setPenColor(color) {
    if (!isValidColor(color)) return;
    prefs.penColor = color;
    savePrefs(local(), prefs);
    if (!isDrawingTool(tool)) selectTool(ToolKind.PEN);
    showPen();
  }

  /** @param {number} width */
  function setPenWidth(width) {
    if (!(width > 0)) return;
    prefs.penWidth = Math.min(Number(penWidth.max), Math.max(1, Math.round(width)));
    savePrefs(local(), prefs);
    showPen();
  }

  /** @param {ToolKindName} next */
  function selectTool(next) {
    if (tools[next].writes && !canWrite() && people.me !== null) return;
    if (next !== tool) tools[tool].deselect?.();
    tool = next;
    for (const button of toolButtons) {
      const chosen = button.dataset.tool === tool;
      button.classList.toggle("active", chosen);
      button.setAttribute("aria-pressed", String(chosen));
    }
    canvas.dataset.tool = tool;
    canvas.style.setProperty("--tool-cursor", tools[tool].cursor);
    showPen();
    invalidate(); // the selection bar follows the tool
  }

  for (const button of toolButtons) {
    button.addEventListener("click", () => selectTool(/** @type {ToolKindName} */ (button.dataset.tool)));
  }
  penColor.addEventListener("input", () => setPenColor(penColor.value));
  penWidth.addEventListener("input", () => setPenWidth(Number(penWidth.value)));
  const fillToggle = element("fill-toggle", HTMLButtonElement);
  /** @param {boolean} on */
  function setFill(on) {
    filled = on;
    local()?.setItem("drawnet.fill", on ? "1" : "0");
    fillToggle.setAttribute("aria-pressed", String(on));
    fillToggle.classList.toggle("active", on);
  }
  setFill(filled);
  fillToggle.addEventListener("click", () => setFill(!filled));
  // Clearing: the owner's, undoable like any op (docs/protocol.md: who may clear).
  element("clear-board", HTMLButtonElement).addEventListener("click", () => {
    if (!isOwner() || board.size === 0) return;
    submit({ kind: OpKind.CLEAR, id: nextId() });
    selection.clear();
    toast("Board cleared: Undo (Ctrl+Z) brings it back");
  });
  undoButton.addEventListener("click", () => undoRedo(OpKind.UNDO));
  redoButton.addEventListener("click", () => undoRedo(OpKind.REDO));
  element("zoom-in", HTMLButtonElement).addEventListener("click", () => zoomBy(ZOOM_STEP));
  element("zoom-out", HTMLButtonElement).addEventListener("click", () => zoomBy(1 / ZOOM_STEP));
  zoomLevel.addEventListener("click", () => zoomBy(1 / camera.zoom));
  element("zoom-fit", HTMLButtonElement).addEventListener("click", zoomToFit);

  /** @param {"undo" | "redo"} kind */
  function undoRedo(kind) {
    if (!canWrite()) return;
    undoQueue.push(kind);
    sendUndoRedo();
  }

  /**
   * The room decides what an undo undoes when it gets it, from its board: so an undo or redo goes out
   * only once everything I sent before it is committed (else it would undo the op before my last stroke),
   * and the next one only once that one is.
   */
  function sendUndoRedo() {
    const kind = undoQueue[0];
    if (kind === undefined || unconfirmed.size > 0) return;
    undoQueue.shift();
    submit({ kind, id: nextId() });
  }

  /**
   * Send a durable op, and remember it until the board shows it committed (or the room refuses it).
   * @param {Op} op
   */
  function submit(op) {
    unconfirmed.add(op.id);
    connection.submit(op);
  }

  /**
   * An acked op is in the board once the board is at its seq, even if its commit never comes to this page
   * (a resend of an op the room had before my snapshot is acked with its old seq, and not sent again).
   */
  function settleAcked() {
    for (const [id, seq] of acked) {
      if (seq <= board.seq) {
        acked.delete(id);
        inflight.delete(id);
        erasing.delete(id);
        transforming.delete(id);
        confirm(id);
      }
    }
  }

  /** @param {string} opId an op of mine is committed or refused */
  function confirm(opId) {
    if (unconfirmed.delete(opId) && unconfirmed.size === 0) sendUndoRedo();
  }

  /** @param {number} factor around the viewport's centre */
  function zoomBy(factor) {
    const { width, height } = renderer.size;
    setCamera(zoomAt(camera, width / 2, height / 2, factor));
  }

  function zoomToFit() {
    const bounds = renderer.contentBounds();
    const { width, height } = renderer.size;
    if (bounds) setCamera(cameraToFit(bounds, width, height));
    else setCamera(cameraForView({ x: 0, y: 0, zoom: 1 }, width, height));
  }

  // ---- menus: share and export
  /**
   * @param {HTMLButtonElement} button
   * @param {HTMLElement} menu
   */
  function menuFor(button, menu) {
    const items = () =>
      /** @type {HTMLButtonElement[]} */ ([...menu.querySelectorAll(".menu-item")]).filter((item) => !item.hidden && item.offsetParent !== null);
    /** @param {boolean} open @param {boolean} [focusFirst] */
    function show(open, focusFirst = false) {
      closeMenus();
      menu.hidden = !open;
      button.setAttribute("aria-expanded", String(open));
      if (open && focusFirst) items()[0]?.focus();
    }
    button.addEventListener("click", (event) => {
      event.stopPropagation();
      // From the keyboard (a click without a pointer), the first item takes the focus.
      show(menu.hidden, event.detail === 0);
    });
    button.addEventListener("keydown", (event) => {
      if (event.key !== "ArrowDown") return;
      event.preventDefault();
      show(true, true);
    });
    // The keys of a menu (WAI-ARIA): arrows, Home and End move, Escape closes it back to its button.
    menu.addEventListener("keydown", (event) => {
      const all = items();
      const at = all.indexOf(/** @type {HTMLButtonElement} */ (document.activeElement));
      const go = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: all.length - 1 }[event.key];
      if (go !== undefined) {
        event.preventDefault();
        all[(go + all.length) % all.length]?.focus();
      } else if (event.key === "Escape") {
        event.preventDefault();
        show(false);
        button.focus();
      } else if (event.key === "Tab") {
        show(false);
      }
    });
    menu.addEventListener("click", () => {
      menu.hidden = true;
      button.setAttribute("aria-expanded", "false");
    });
  }
  /** Close every open menu; whether one was open. */
  function closeMenus() {
    let closed = false;
    for (const menu of /** @type {HTMLElement[]} */ ([...document.querySelectorAll(".menu")])) {
      closed ||= !menu.hidden;
      menu.hidden = true;
    }
    for (const button of document.querySelectorAll("[aria-haspopup=menu]")) button.setAttribute("aria-expanded", "false");
    return closed;
  }
  menuFor(element("share-button", HTMLButtonElement), element("share-menu", HTMLDivElement));
  menuFor(element("export-button", HTMLButtonElement), element("export-menu", HTMLDivElement));
  document.addEventListener("click", () => {
    for (const menu of document.querySelectorAll(".menu")) /** @type {HTMLElement} */ (menu).hidden = true;
  });

  /** @param {string} text */
  async function copy(text) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      window.prompt("Copy this link:", text);
      return false;
    }
  }
  element("copy-link", HTMLButtonElement).addEventListener("click", async () => {
    const address = config.injected
      ? new URL(boardPath(session, true), window.location.origin).href
      : window.location.href;
    if (await copy(address)) toast("Link copied: send it to draw together");
  });
  for (const role of /** @type {const} */ (["editor", "viewer"])) {
    element(`link-${role}`, HTMLButtonElement).addEventListener("click", async () => {
      try {
        const minted = await api.createLink(session, role);
        if (minted.url && (await copy(minted.url))) {
          toast(role === "viewer" ? "View-only link copied" : "Editor invite link copied");
        }
      } catch (error) {
        toast(`No link: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
  }

  attachSettings(
    {
      api,
      session,
      copy,
      toast,
      retitled(title) {
        sessionName.textContent = title;
        sessionName.title = session;
        document.title = `${title} · Drawnet`;
        rememberBoard(local(), session, title);
      },
      deleted: () => window.location.assign(config.injected ? "/" : "#/"),
    },
    element("settings-button", HTMLButtonElement),
    element("settings-dialog", HTMLDialogElement),
  );

  for (const button of /** @type {HTMLButtonElement[]} */ ([...document.querySelectorAll("[data-export]")])) {
    button.addEventListener("click", async () => {
      const format = /** @type {"png" | "svg" | "json"} */ (button.dataset.export);
      try {
        const { blob, filename } = await api.exportBoard(session, format, tokens.current?.token ?? null, board.seq);
        saveFile(blob, filename);
      } catch (error) {
        toast(`Export failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
  }
  const importFile = element("import-file", HTMLInputElement);
  element("import-button", HTMLButtonElement).addEventListener("click", () => importFile.click());
  importFile.addEventListener("change", async () => {
    const file = importFile.files?.[0];
    importFile.value = "";
    if (!file) return;
    try {
      const exported = JSON.parse(await file.text());
      const result = await api.importBoard(session, exported, tokens.current?.token ?? null);
      toast(`Imported ${result.imported} stroke${result.imported === 1 ? "" : "s"}`);
    } catch (error) {
      const why = error instanceof ApiError || error instanceof Error ? error.message : String(error);
      toast(`Import failed: ${why}`);
    }
  });

  // ---- tools: one module each (tools/), driven through the Tool interface (tools/tool.js)
  /** @type {DOMRect} */
  let canvasRect = canvas.getBoundingClientRect();
  /** @type {import("./tools/tool.js").ToolContext} */
  const toolContext = {
    camera: () => camera,
    boardPoint: (event) => screenToBoard(camera, event.clientX - canvasRect.left, event.clientY - canvasRect.top),
    limits: () => limits,
    prefs: () => prefs,
    nextId,
    sendLive: (message) => connection.sendLive(message),
    generation: () => connection.generation,
    submitItem(op) {
      inflight.set(op.id, op);
      submit(op);
    },
    submitErase(id, items) {
      erasing.set(id, items);
      for (const item of items) selection.delete(item.id);
      submit({ kind: OpKind.ERASE, id, strokes: items.map((item) => item.id) });
    },
    submit,
    submitTransform(items, m) {
      const id = nextId();
      transforming.set(id, { items, m });
      submit({ kind: OpKind.TRANSFORM, id, items, m });
    },
    itemsAt: (x, y, radius) => renderer.strokesAt(x, y, radius),
    itemsIn: (rect) => renderer.itemsIn(rect),
    boundsOf: (id) => renderer.boundsOf(id),
    item: (id) => board.getStroke(id),
    placeOf: (id) => board.placement(id) ?? { m: null, text: null },
    hide(ids) {
      dragging = new Set(ids);
      invalidate();
    },
    selection,
    host: element("board", HTMLDivElement),
    panBy: (dx, dy) => setCamera(panBy(camera, dx, dy)),
    showPanning: (panning) => canvas.classList.toggle("panning", panning),
    invalidate,
  };
  const images = attachImages(
    {
      api,
      session,
      bearer: () => tokens.current?.token ?? null,
      canvas,
      canWrite,
      camera: () => camera,
      boardPoint: (x, y) => screenToBoard(camera, x - canvasRect.left, y - canvasRect.top),
      viewCentre: () => screenToBoard(camera, renderer.size.width / 2, renderer.size.height / 2),
      nextId,
      submitItem: (op) => toolContext.submitItem(op),
      select(id) {
        selectTool(ToolKind.SELECT);
        selection.clear();
        selection.add(id);
        invalidate();
      },
      arrived(digest) {
        renderer.redrawItems((item) => item.kind === OpKind.IMAGE && item.image === digest);
        invalidate();
      },
      toast,
    },
    element("image-button", HTMLButtonElement),
    element("image-file", HTMLInputElement),
  );
  const pastBoard = attachHistory(
    {
      api,
      session,
      bearer: () => tokens.current?.token ?? null,
      camera: () => camera,
      nameOf: (user) => [...people.all.values()].find((p) => p.user === user)?.name ?? null,
      toast,
      open: (next) => window.location.assign(boardPath(next, config.injected)),
    },
    {
      button: element("history-button", HTMLButtonElement),
      bar: element("history-bar", HTMLElement),
      canvas: element("history-canvas", HTMLCanvasElement),
      slider: element("history-slider", HTMLInputElement),
      play: element("history-play", HTMLButtonElement),
      back: element("history-back", HTMLButtonElement),
      forward: element("history-forward", HTMLButtonElement),
      label: element("history-label", HTMLElement),
      who: element("history-who", HTMLElement),
      restore: element("history-restore", HTMLButtonElement),
      close: element("history-close", HTMLButtonElement),
    },
  );
  /** Items the tool in use keeps off the tiles (being dragged, or edited). @type {Set<string>} */
  let dragging = new Set();
  const texts = textTool(toolContext, ToolKind.TEXT, () => align);
  const notes = textTool(toolContext, ToolKind.NOTE, () => align);
  /** @type {Record<ToolKindName, Tool>} */
  const tools = {
    select: selectionTool(toolContext),
    hand: handTool(toolContext),
    pen: freehandTool(toolContext, ToolKind.PEN),
    highlighter: freehandTool(toolContext, ToolKind.HIGHLIGHTER),
    eraser: eraserTool(toolContext),
    line: shapeTool(toolContext, "line", () => filled),
    arrow: shapeTool(toolContext, "arrow", () => filled),
    rect: shapeTool(toolContext, "rect", () => filled, () => roundCorners),
    ellipse: shapeTool(toolContext, "ellipse", () => filled),
    diamond: shapeTool(toolContext, "diamond", () => filled),
    text: texts,
    note: notes,
    laser: laserTool(toolContext, lasers),
  };

  // ---- pointers: the gesture's pointer goes to its tool; two fingers pan and pinch; a pen wins over palms
  /** @type {Map<number, {x: number, y: number}>} screen positions of the pointers that are down */
  const down = new Map();
  /** Pens that are down: while one is, every touch is a palm resting on the screen, and is ignored. */
  /** @type {Set<number>} */
  const pens = new Set();
  /** Touches being ignored (palms), until they lift. @type {Set<number>} */
  const palms = new Set();
  /** Once a pen was used here, one finger moves the board instead of drawing (the pen draws). */
  let penSeen = false;
  /** Touches ignored so far, for the tests' snapshot. */
  let palmsRejected = 0;
  /** @type {Map<number, string>} the pointer type of each pointer that is down */
  const pointerTypes = new Map();
  /** The pointer of the gesture under way and the tool it belongs to. @type {{pointer: number, tool: Tool} | null} */
  let gesture = null;
  /** @type {{distance: number, x: number, y: number} | null} */
  let pinch = null;

  function pinchState() {
    const [a, b] = [...down.values()];
    return { distance: Math.hypot(a.x - b.x, a.y - b.y), x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
  }

  /**
   * A pen touched the screen: the touches already down are the hand holding it (a palm that landed
   * first), so whatever they were doing stops and they are ignored until they lift.
   */
  function rejectPalms() {
    for (const [id, type] of pointerTypes) {
      if (type !== "touch") continue;
      if (gesture?.pointer === id) {
        if (gesture.tool.discard) gesture.tool.discard();
        else gesture.tool.cancel();
        gesture = null;
      }
      down.delete(id);
      pointerTypes.delete(id);
      palms.add(id);
      palmsRejected += 1;
    }
    pinch = null;
  }

  canvas.addEventListener("pointerdown", (event) => {
    noteInput();
    event.preventDefault();
    if (event.pointerType === "touch" && pens.size > 0) {
      palms.add(event.pointerId);
      palmsRejected += 1;
      return;
    }
    if (event.pointerType === "pen") {
      pens.add(event.pointerId);
      penSeen = true;
      rejectPalms();
    }
    canvasRect = canvas.getBoundingClientRect();
    const at = { x: event.clientX - canvasRect.left, y: event.clientY - canvasRect.top };
    down.set(event.pointerId, at);
    pointerTypes.set(event.pointerId, event.pointerType);
    canvas.focus({ preventScroll: true });
    canvas.setPointerCapture(event.pointerId);
    if (down.size === 2 && event.pointerType === "touch") {
      gesture?.tool.cancel();
      gesture = null;
      pinch = pinchState();
      return;
    }
    if (down.size > 1 || gesture) return;
    const wantsPan =
      event.button === 1 ||
      spaceHeld ||
      (!canWrite() && tools[tool].writes) ||
      (penSeen && event.pointerType === "touch" && tools[tool].writes) ||
      (event.pointerType === "mouse" && event.button !== 0);
    gesture = { pointer: event.pointerId, tool: wantsPan ? tools.hand : tools[tool] };
    gesture.tool.down(event);
  });

  canvas.addEventListener("pointermove", (event) => {
    if (palms.has(event.pointerId)) return;
    noteInput();
    const at = { x: event.clientX - canvasRect.left, y: event.clientY - canvasRect.top };
    if (down.has(event.pointerId)) down.set(event.pointerId, at);
    myCursor = screenToBoard(camera, at.x, at.y);
    sendCursor();
    if (pinch && down.size >= 2) {
      const next = pinchState();
      let moved = panBy(camera, next.x - pinch.x, next.y - pinch.y);
      moved = zoomAt(moved, next.x, next.y, next.distance / Math.max(1, pinch.distance));
      pinch = next;
      setCamera(moved);
      return;
    }
    if (gesture && gesture.pointer === event.pointerId) gesture.tool.move(event);
  });

  /** @param {PointerEvent} event */
  function pointerEnds(event) {
    pens.delete(event.pointerId);
    pointerTypes.delete(event.pointerId);
    if (palms.delete(event.pointerId)) return;
    down.delete(event.pointerId);
    if (pinch) {
      if (down.size < 2) pinch = null;
      return;
    }
    if (!gesture || gesture.pointer !== event.pointerId) return;
    const { tool: owner } = gesture;
    gesture = null;
    owner.up(event);
  }
  canvas.addEventListener("pointerup", pointerEnds);
  canvas.addEventListener("pointercancel", pointerEnds);
  canvas.addEventListener("lostpointercapture", (event) => {
    if (down.has(event.pointerId) || palms.has(event.pointerId)) pointerEnds(event);
  });

  canvas.addEventListener(
    "wheel",
    (event) => {
      event.preventDefault();
      noteInput();
      canvasRect = canvas.getBoundingClientRect();
      const scale = event.deltaMode === 1 ? 16 : event.deltaMode === 2 ? 400 : 1;
      if (event.ctrlKey || event.metaKey) {
        // A trackpad pinch arrives as a wheel with ctrlKey: zoom around the pointer.
        const factor = Math.exp((-event.deltaY * scale) / 300);
        setCamera(zoomAt(camera, event.clientX - canvasRect.left, event.clientY - canvasRect.top, factor));
      } else {
        const dx = event.shiftKey && event.deltaX === 0 ? event.deltaY : event.deltaX;
        const dy = event.shiftKey && event.deltaX === 0 ? 0 : event.deltaY;
        setCamera(panBy(camera, -dx * scale, -dy * scale));
      }
    },
    { passive: false },
  );

  // ---- keyboard
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || isTyping(event.target) || document.querySelector("dialog[open]")) return;
    noteInput();
    // Space and Enter on a focused control press it; elsewhere Space held pans.
    const onControl = event.target instanceof HTMLElement && event.target.closest("button, a, [role=menu]") !== null;
    if (onControl && (event.key === " " || event.key === "Enter")) return;
    if (event.key === "Escape" && closeMenus()) {
      event.preventDefault();
      return;
    }
    if (event.key === " " && !event.repeat) {
      spaceHeld = true;
      canvas.classList.add("space-pan");
      event.preventDefault();
      return;
    }
    if (gesture === null && tools[tool].key(event)) {
      event.preventDefault();
      return;
    }
    const action = shortcut(event);
    if (!action) return;
    event.preventDefault();
    switch (action) {
      case "fill":
        setFill(!filled);
        break;
      case "select:all":
        if (!canWrite()) break;
        selectTool(ToolKind.SELECT);
        for (const item of board.strokes) selection.add(item.id);
        invalidate();
        break;
      case "duplicate":
        duplicate();
        break;
      case "order:front":
      case "order:back":
      case "order:forward":
      case "order:backward":
        reorderSelection(/** @type {OrderPlace} */ (action.slice("order:".length)));
        break;
      case "delete":
        deleteSelection();
        break;
      case "undo":
        undoRedo(OpKind.UNDO);
        break;
      case "redo":
        undoRedo(OpKind.REDO);
        break;
      case "zoom:in":
        zoomBy(ZOOM_STEP);
        break;
      case "zoom:out":
        zoomBy(1 / ZOOM_STEP);
        break;
      case "zoom:reset":
        zoomBy(1 / camera.zoom);
        break;
      case "zoom:fit":
        zoomToFit();
        break;
      case "width:down":
        setPenWidth(prefs.penWidth - (prefs.penWidth > 10 ? 2 : 1));
        break;
      case "width:up":
        setPenWidth(prefs.penWidth + (prefs.penWidth >= 10 ? 2 : 1));
        break;
      default:
        selectTool(/** @type {ToolKindName} */ (action.slice("tool:".length)));
    }
  });
  // ---- the selection: delete, duplicate, and the system clipboard (JSON: clipboard.js)
  function selected() {
    /** @type {[ItemOp, import("./kinds/place.js").Place][]} */
    const items = [];
    for (const item of board.strokes) if (selection.has(item.id)) items.push([item, board.placement(item.id) ?? { m: null, text: null }]);
    return items;
  }

  function deleteSelection() {
    const items = selected().map(([item]) => item);
    if (!canWrite() || items.length === 0) return;
    for (let i = 0; i < items.length; i += HardLimits.MAX_ERASE_TARGETS) {
      toolContext.submitErase(nextId(), items.slice(i, i + HardLimits.MAX_ERASE_TARGETS));
    }
    selection.clear();
    invalidate();
  }

  /**
   * Move the selection in the stacking order: one `reorder` op (per 1000 items; for the back, the last
   * thousand first, so that the selection keeps its own order there too).
   * @param {OrderPlace} to
   */
  function reorderSelection(to) {
    const ids = selected().map(([item]) => item.id);
    if (!canWrite() || ids.length === 0) return;
    /** @type {string[][]} */
    const batches = [];
    for (let i = 0; i < ids.length; i += HardLimits.MAX_ITEMS_PER_OP) batches.push(ids.slice(i, i + HardLimits.MAX_ITEMS_PER_OP));
    if (to === "back" || to === "backward") batches.reverse();
    for (const items of batches) submit({ kind: OpKind.REORDER, id: nextId(), items, to });
  }
  for (const button of /** @type {HTMLButtonElement[]} */ ([...document.querySelectorAll("[data-order]")])) {
    button.addEventListener("click", () => reorderSelection(/** @type {OrderPlace} */ (button.dataset.order)));
  }
  const contextBar = element("context-bar", HTMLDivElement);
  const orderGroup = element("order-group", HTMLDivElement);
  const alignGroup = element("align-group", HTMLDivElement);
  const cornerGroup = element("corner-group", HTMLDivElement);
  const alignButtons = /** @type {HTMLButtonElement[]} */ ([...alignGroup.querySelectorAll("[data-align]")]);
  const cornerButtons = /** @type {HTMLButtonElement[]} */ ([...cornerGroup.querySelectorAll("[data-corners]")]);
  // The bar's buttons do not take the focus: a text being typed stays in its editor (a blur commits it).
  contextBar.addEventListener("pointerdown", (event) => event.preventDefault());
  for (const button of alignButtons) {
    button.addEventListener("click", () => {
      align = /** @type {"left" | "center" | "right"} */ (button.dataset.align);
      local()?.setItem("drawnet.align", align);
      texts.realign();
      notes.realign();
      invalidate();
    });
  }
  for (const button of cornerButtons) {
    button.addEventListener("click", () => {
      roundCorners = button.dataset.corners === "round";
      local()?.setItem("drawnet.corners", roundCorners ? "round" : "sharp");
      invalidate();
    });
  }
  /**
   * @param {HTMLButtonElement} button
   * @param {boolean} chosen
   */
  function choose(button, chosen) {
    button.classList.toggle("active", chosen);
    button.setAttribute("aria-checked", String(chosen));
  }
  /** Show what applies now: the stacking order for a selection, the alignment for the text and note
   * tools, the corners for the rectangle tool. */
  function showContext() {
    const writer = canWrite();
    let anySelected = false;
    for (const id of selection) {
      if (board.getStroke(id)) {
        anySelected = true;
        break;
      }
    }
    orderGroup.hidden = !(writer && anySelected);
    alignGroup.hidden = !(writer && (tool === ToolKind.TEXT || tool === ToolKind.NOTE));
    cornerGroup.hidden = !(writer && tool === ToolKind.RECT);
    for (const button of alignButtons) choose(button, button.dataset.align === align);
    for (const button of cornerButtons) choose(button, (button.dataset.corners === "round") === roundCorners);
    contextBar.hidden = orderGroup.hidden && alignGroup.hidden && cornerGroup.hidden;
  }

  /**
   * @param {string} text
   * @param {number} dx
   * @param {number} dy
   */
  function pasteText(text, dx, dy) {
    const pasted = pasteFrom(text, nextId, dx, dy);
    if (!pasted || !canWrite()) return false;
    for (const op of pasted.ops) {
      if (op.kind === OpKind.TRANSFORM) toolContext.submitTransform(op.items, op.m);
      else if ((/** @type {readonly string[]} */ (ITEM_KINDS)).includes(op.kind)) toolContext.submitItem(/** @type {ItemOp} */ (op));
    }
    selectTool(ToolKind.SELECT);
    selection.clear();
    for (const id of pasted.ids) selection.add(id);
    invalidate();
    return true;
  }

  /** Paste offset (board units) of a duplicate, or a paste onto the same board. */
  const PASTE_OFFSET_PX = 16;
  function duplicate() {
    const items = selected();
    if (items.length > 0) pasteText(copied(items), PASTE_OFFSET_PX / camera.zoom, PASTE_OFFSET_PX / camera.zoom);
  }

  document.addEventListener("copy", (event) => {
    if (isTyping(event.target) || selection.size === 0) return;
    event.clipboardData?.setData("text/plain", copied(selected()));
    event.preventDefault();
  });
  document.addEventListener("cut", (event) => {
    if (isTyping(event.target) || selection.size === 0) return;
    event.clipboardData?.setData("text/plain", copied(selected()));
    event.preventDefault();
    deleteSelection();
  });
  /** Where the pointer is over the canvas (CSS pixels from its corner), or null when it is not over it. */
  /** @type {{x: number, y: number} | null} */
  let pointerOver = null;
  canvas.addEventListener("pointerleave", () => (pointerOver = null));
  canvas.addEventListener("pointermove", (event) => {
    pointerOver = { x: event.clientX - canvasRect.left, y: event.clientY - canvasRect.top };
  });
  document.addEventListener("paste", (event) => {
    if (isTyping(event.target) || images.paste(event)) return;
    const text = event.clipboardData?.getData("text/plain") ?? "";
    // Pasted where the pointer is when it is over the board (the middle of what was copied goes there),
    // else a little off the originals.
    let dx = PASTE_OFFSET_PX / camera.zoom;
    let dy = dx;
    const items = pointerOver ? clipped(text) : null;
    if (pointerOver && items && items.length > 0) {
      /** @type {import("./geometry.js").Rect | null} */
      let frame = null;
      for (const [item, place] of items) {
        const rect = kindOf(item).bounds(item, place);
        frame = frame ? union(frame, rect) : rect;
      }
      const at = screenToBoard(camera, pointerOver.x, pointerOver.y);
      const box = /** @type {import("./geometry.js").Rect} */ (frame);
      dx = at.x - (box.x + box.w / 2);
      dy = at.y - (box.y + box.h / 2);
    }
    if (pasteText(text, dx, dy)) event.preventDefault();
  });
  canvas.addEventListener("dblclick", (event) => {
    if (!canWrite() || tool !== ToolKind.SELECT) return;
    const at = toolContext.boardPoint(event);
    const hit = renderer.strokesAt(at.x, at.y, 2 / camera.zoom).find((item) => item.kind === "text" || item.kind === "note");
    if (!hit) return;
    selection.clear();
    selectTool(hit.kind === "note" ? ToolKind.NOTE : ToolKind.TEXT);
    /** @type {ReturnType<typeof textTool>} */ (tools[hit.kind === "note" ? "note" : "text"]).edit(hit.id);
  });

  document.addEventListener("keyup", (event) => {
    if (event.key === " ") {
      spaceHeld = false;
      canvas.classList.remove("space-pan");
    }
  });

  // ---- frames
  let frameRequested = false;
  function invalidate() {
    if (frameRequested) return;
    frameRequested = true;
    window.requestAnimationFrame(frame);
  }

  function frame() {
    frameRequested = false;
    if (cameraMoved) pastBoard.redraw();
    const active = gesture?.tool ?? tools[tool];
    active.frame();
    /** @type {import("./tools/tool.js").Overlay} */
    const overlay = { live: [...previews.values(), ...[...sketches.values()].map((s) => s.shape)], erasing: [], moving: [], decorations: [] };
    // Items on their way somewhere: others' drags, my transforms not yet committed; drawn moved, off the tiles.
    const hidden = new Set(dragging);
    /** @type {Map<string, Matrix>} */
    const moves = new Map();
    for (const { items, m } of [...drags.values(), ...transforming.values()]) {
      for (const id of items) moves.set(id, compose(m, moves.get(id) ?? IDENTITY));
    }
    for (const [id, m] of moves) {
      const item = board.getStroke(id);
      if (!item) continue;
      hidden.add(id);
      overlay.moving.push({ item, m });
    }
    active.overlay(overlay);
    showContext();
    const faded = overlay.erasing;
    for (const items of erasing.values()) faded.push(...items);
    renderer.setHidden(hidden);
    renderer.setCamera(camera);
    const more = renderer.draw({
      pending: inflight.values(),
      live: overlay.live,
      erasing: faded,
      moving: overlay.moving,
      decorate: (ctx) => {
        for (const decorate of overlay.decorations) decorate(ctx);
        lasers.draw(ctx, camera.zoom, performance.now());
      },
    });
    // A trail fades frame by frame until nothing of it is left.
    const fading = lasers.prune(performance.now());
    if (cameraMoved) {
      people.placeCursors(camera);
      cameraMoved = false;
    }
    canvas.dataset.seq = String(board.seq);
    canvas.dataset.strokes = String(board.size);
    canvas.dataset.pending = String(outbox.size);
    statusPending.hidden = outbox.size === 0;
    statusPending.textContent = `${outbox.size} change${outbox.size === 1 ? "" : "s"} waiting to be sent`;
    hint.style.opacity = board.size > 0 || inflight.size > 0 || previews.size > 0 || sketches.size > 0 || active.busy() ? "0" : "1";
    if (more || fading) invalidate();
  }

  window.setInterval(() => {
    const idleSince = Date.now() - PREVIEW_IDLE_MS;
    for (const [by, dragging] of drags) {
      // A drag whose transform never came (refused, or its author gone quiet) stops being shown.
      if (dragging.seen < (dragging.ended ? Date.now() - DRAG_LINGER_MS : idleSince)) {
        drags.delete(by);
        invalidate();
      }
    }
    for (const [id, preview] of previews) {
      if (preview.seen < idleSince) {
        previews.delete(id);
        invalidate();
      }
    }
    for (const [id, shape] of sketches) {
      // A shape whose commit never came (refused, or its author gone quiet) stops being shown.
      if (shape.seen < idleSince) {
        sketches.delete(id);
        invalidate();
      }
    }
    people.placeCursors(camera);
  }, 5_000);

  // Pictures are drawn through the inverse of the dark canvas's filter, so photos are not inverted.
  function followTheme() {
    const dark = document.documentElement.dataset.theme === "dark";
    setPictureFilter(dark ? PICTURE_FILTER : "none");
    renderer.redrawItems((item) => item.kind === OpKind.IMAGE);
    invalidate();
  }
  followTheme();
  new MutationObserver(followTheme).observe(document.documentElement, { attributeFilter: ["data-theme"] });

  new ResizeObserver(() => {
    renderer.resize();
    pastBoard.resize();
    cameraMoved = true;
    invalidate();
  }).observe(canvas);
  watchPixelRatio(() => {
    renderer.resize();
    pastBoard.resize();
    invalidate();
  });

  // ---- what tests and benches may look at (no pixels: the state the page shows)
  Object.assign(window, {
    __drawnet: {
      snapshot: () => ({
        session,
        connection: connection.status.state,
        code: connection.status.code ?? null,
        seq: board.seq,
        strokes: board.size,
        hash: board.hash(),
        ids: board.strokes.map((stroke) => stroke.id),
        pending: outbox.size,
        inflight: inflight.size,
        unconfirmed: unconfirmed.size + undoQueue.length,
        previews: previews.size,
        sketches: [...sketches.values()].map((s) => s.shape),
        me: people.me,
        role: people.me?.role ?? null,
        participants: [...people.all.values()].map((p) => ({ id: p.id, name: p.name, role: p.role, idle: p.idle })),
        cursors: [...people.cursors.entries()].map(([id, mark]) => ({ id, name: people.all.get(id)?.name ?? "", x: mark.x, y: mark.y })),
        following: people.following,
        camera: { ...camera },
        tool,
        canUndo: !undoButton.disabled,
        kinds: board.strokes.map((item) => item.kind),
        placed: board.placed(),
        selection: [...selection],
        dragging: [...drags.values()].map((d) => ({ items: d.items, m: d.m, ended: d.ended })),
        canRedo: !redoButton.disabled,
        palmsRejected,
        announced: [...announcer.said],
        penSeen,
        lasers: [...lasers.visible(performance.now())].map(([id, points]) => ({ id, name: people.all.get(id)?.name ?? "", points })),
        tiles: { ...renderer.stats },
        pictures: PICTURES.ready(),
      }),
      setCamera: (/** @type {Camera} */ next) => setCamera(next),
      board,
      renderer,
    },
  });

  selectTool(ToolKind.PEN);
  setCamera(camera);
  connection.start();
  invalidate();
  // The title of a board made in the lobby (open boards have none).
  void (async () => {
    try {
      await tokens.get({ refresh: false });
      const info = await api.getSession(session, tokens.current?.token ?? null);
      if (info.title && info.title !== session) {
        sessionName.textContent = info.title;
        sessionName.title = session;
        document.title = `${info.title} · Drawnet`;
        rememberBoard(local(), session, info.title);
      }
    } catch {
      // An open board, or no service: the name will do.
    }
  })();
}
