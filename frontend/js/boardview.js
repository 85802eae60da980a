// A board (`/s/<session>`): the canvas, the toolbar, the people here and the connection, wired together.
// The state rules live in board.js, outbox.js and connection.js; drawing in render.js; strokes in ink.js.

import { roomSocketUrl } from "./api.js";
import { Board } from "./board.js";
import { Connection } from "./connection.js";
import { capitalize, element, local, perTab, toast } from "./dom.js";
import { CLIENT_CHANNEL, claimClientId, loadPrefs, makeIdFactory, savePrefs } from "./identity.js";
import { StrokeBuilder, chunk, pressureOf } from "./ink.js";
import { Outbox, outboxKey } from "./outbox.js";
import { DEFAULT_LIMITS, OpKind, ServerKind, Tool, begin, hello, isValidColor, points } from "./protocol.js";
import { Renderer } from "./render.js";
import { boardPath } from "./routes.js";

/** @typedef {import("./api.js").Config} Config */
/** @typedef {import("./protocol.js").Participant} Participant */
/** @typedef {import("./protocol.js").StrokeOp} StrokeOp */
/** @typedef {import("./protocol.js").Committed} Committed */
/** @typedef {import("./protocol.js").ServerMessage} ServerMessage */
/** @typedef {import("./protocol.js").Welcome} Welcome */
/** @typedef {import("./protocol.js").Limits} Limits */
/** @typedef {import("./connection.js").ConnectionStatus} ConnectionStatus */
/** @typedef {import("./identity.js").Prefs} Prefs */
/** @typedef {import("./render.js").Drawable} Drawable */

/**
 * Someone else's stroke in progress, and when it last grew (ms).
 * @typedef {Drawable & {by: string, seen: number}} Preview
 */

/** A preview that has not grown for this long (ms) is dropped: its stroke was refused, or its author lost. */
const PREVIEW_IDLE_MS = 30_000;

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
 * @param {Config} config
 * @param {string} session
 */
export async function startBoard(config, session) {
  document.title = `${session} · Drawnet`;
  element("board", HTMLDivElement).hidden = false;
  element("session-name", HTMLSpanElement).textContent = session;

  const canvas = element("canvas", HTMLCanvasElement);
  const statusBox = element("status", HTMLDivElement);
  const statusText = element("status-text", HTMLSpanElement);
  const statusDetail = element("status-detail", HTMLParagraphElement);
  const reconnectButton = element("reconnect", HTMLButtonElement);
  const participantList = element("participants", HTMLUListElement);
  const penColor = element("pen-color", HTMLInputElement);
  const penWidth = element("pen-width", HTMLInputElement);
  const widthDot = element("width-dot", HTMLSpanElement);
  const hint = element("hint", HTMLParagraphElement);

  const stored = loadPrefs(local());
  const prefs = stored.saved ? stored.prefs : await askProfile(stored.prefs);
  const channel = "BroadcastChannel" in window ? new BroadcastChannel(CLIENT_CHANNEL) : null;
  const clientId = await claimClientId(perTab(), channel);
  const nextId = makeIdFactory(clientId);

  // ---- state
  const board = new Board();
  const renderer = new Renderer(canvas);
  const outbox = new Outbox(local(), outboxKey(config.namespace, session));
  /** @type {Limits} */
  let limits = { ...DEFAULT_LIMITS };
  /** @type {Participant | null} */
  let me = null;
  /** @type {Map<string, Participant>} */
  const participants = new Map();
  /** Others' strokes in progress, by stroke id. @type {Map<string, Preview>} */
  const previews = new Map();
  /** My finished strokes not on the board yet (sent, or waiting to be), by id. @type {Map<string, StrokeOp>} */
  const inflight = new Map();
  for (const op of outbox.ops) if (op.kind === OpKind.STROKE) inflight.set(op.id, op);

  /** The stroke I am drawing, the pointer drawing it, and the connection generation that saw it begin. */
  /** @type {StrokeBuilder | null} */
  let current = null;
  /** @type {number | null} */
  let activePointer = null;
  let announcedIn = -1;
  /** @type {DOMRect} */
  let canvasRect = canvas.getBoundingClientRect();

  // ---- the connection
  const connection = new Connection({
    url: roomSocketUrl(config, session),
    outbox,
    hello: () => hello({ client: clientId, name: prefs.name, color: prefs.color, since: board.seq }),
    isCommitted: (opId) => board.hasOp(opId),
    onWelcome,
    onMessage,
    onStatus: showStatus,
  });

  /** @param {Welcome} welcome */
  function onWelcome(welcome) {
    if (welcome.snapshot) {
      board.loadSnapshot(welcome.seq, welcome.snapshot);
      for (const id of inflight.keys()) if (board.hasOp(id)) inflight.delete(id);
    } else if (welcome.seq < board.seq) {
      // The room's log is behind what this page saw (it was reset): start over from an empty board.
      board.reset();
      connection.reconnect();
      return;
    }
    limits = welcome.limits;
    penWidth.max = String(Math.min(40, Math.floor(limits.max_width)));
    me = welcome.you;
    participants.clear();
    for (const participant of welcome.participants) participants.set(participant.id, participant);
    participants.set(me.id, me);
    previews.clear();
    for (const committed of welcome.ops) applyCommitted(committed);
    renderParticipants();
    invalidate();
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
        break;
      case ServerKind.NACK:
        inflight.delete(message.id);
        toast(`A stroke was not saved: ${message.reason}`);
        invalidate();
        break;
      case ServerKind.JOINED:
        participants.set(message.who.id, message.who);
        renderParticipants();
        break;
      case ServerKind.LEFT:
        participants.delete(message.id);
        for (const [id, preview] of previews) if (preview.by === message.id) previews.delete(id);
        renderParticipants();
        invalidate();
        break;
      case ServerKind.BEGIN:
        if (message.by && message.by === me?.id) break;
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
    }
  }

  /** @param {Committed} committed */
  function applyCommitted(committed) {
    board.apply(committed);
    inflight.delete(committed.op.id);
    previews.delete(committed.op.id);
    invalidate();
  }

  // ---- the status indicator
  /** @type {number | undefined} */
  let countdown;
  /** @param {ConnectionStatus} status */
  function showStatus(status) {
    window.clearInterval(countdown);
    statusBox.dataset.state = status.state;
    reconnectButton.hidden = status.state !== "offline";
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
  }
  reconnectButton.addEventListener("click", () => connection.reconnect());
  window.addEventListener("online", () => {
    if (connection.status.state === "offline") connection.reconnect();
  });

  function renderParticipants() {
    const people = [...participants.values()].sort((a, b) => {
      if (a.id === me?.id) return -1;
      if (b.id === me?.id) return 1;
      return a.name.localeCompare(b.name);
    });
    participantList.replaceChildren(
      ...people.map((person) => {
        const item = document.createElement("li");
        item.className = "participant";
        item.dataset.participantId = person.id;
        const dot = document.createElement("span");
        dot.className = "participant-dot";
        dot.style.background = isValidColor(person.color) ? person.color : "#adb5bd";
        const name = document.createElement("span");
        name.className = "participant-name";
        name.textContent = person.name || "Guest";
        item.append(dot, name);
        if (person.id === me?.id) {
          const you = document.createElement("span");
          you.className = "participant-you";
          you.textContent = "(you)";
          item.append(you);
        }
        return item;
      }),
    );
  }

  // ---- the toolbar
  function showPen() {
    const width = Math.min(prefs.penWidth, limits.max_width);
    const size = Math.max(2, Math.min(36, width));
    widthDot.style.width = widthDot.style.height = `${size}px`;
    widthDot.style.color = prefs.penColor;
  }
  penColor.value = prefs.penColor;
  penWidth.value = String(prefs.penWidth);
  showPen();
  penColor.addEventListener("input", () => {
    if (!isValidColor(penColor.value)) return;
    prefs.penColor = penColor.value;
    savePrefs(local(), prefs);
    showPen();
  });
  penWidth.addEventListener("input", () => {
    const width = Number(penWidth.value);
    if (!(width > 0)) return;
    prefs.penWidth = width;
    savePrefs(local(), prefs);
    showPen();
  });
  element("copy-link", HTMLButtonElement).addEventListener("click", async () => {
    const link = config.injected
      ? new URL(boardPath(session, true), window.location.origin).href
      : window.location.href;
    try {
      await navigator.clipboard.writeText(link);
      toast("Link copied: send it to draw together");
    } catch {
      window.prompt("Copy this link:", link);
    }
  });

  // ---- drawing
  function beginStroke() {
    current = new StrokeBuilder(
      nextId(),
      { tool: Tool.PEN, color: prefs.penColor, width: prefs.penWidth, opacity: 1 },
      limits,
    );
    announceStroke(current);
  }

  /** @param {StrokeBuilder} stroke */
  function announceStroke(stroke) {
    const { tool, color, width, opacity } = stroke.style;
    const sent = connection.sendLive(begin({ stroke: stroke.id, tool, color, width, opacity }));
    announcedIn = sent ? connection.generation : -1;
  }

  /** Send the points not sent yet, in messages of at most max_points_per_message. */
  function flushPoints() {
    if (!current) return;
    const unsent = current.takeUnsent();
    // Points of a stroke this connection never saw begin would mean nothing to the others.
    if (unsent.length === 0 || announcedIn !== connection.generation) return;
    for (const piece of chunk(unsent, limits.max_points_per_message)) {
      connection.sendLive(points(current.id, piece));
    }
  }

  /** @param {StrokeBuilder} stroke */
  function submitStroke(stroke) {
    if (stroke.pts.length === 0) return;
    const op = stroke.toOp();
    inflight.set(op.id, op);
    connection.submit(op);
  }

  /**
   * @param {PointerEvent[]} events
   * @param {boolean} [keepPressure] use the last pressure (a pen lifting off reports 0)
   */
  function addPoints(events, keepPressure = false) {
    for (const event of events) {
      if (!current) return;
      if (current.full) {
        // A stroke at the room's point limit goes out as is; the line continues as a new stroke.
        flushPoints();
        submitStroke(current);
        current = current.continuation(nextId(), limits);
        announceStroke(current);
      }
      const last = current.pts.at(-1);
      const pressure = keepPressure && last ? last[2] : pressureOf(event.pointerType, event.pressure);
      current.add(event.clientX - canvasRect.left, event.clientY - canvasRect.top, pressure);
    }
    invalidate();
  }

  function endStroke() {
    if (!current) return;
    flushPoints();
    submitStroke(current);
    current = null;
    activePointer = null;
    invalidate();
  }

  canvas.addEventListener("pointerdown", (event) => {
    if (current || (event.pointerType === "mouse" && event.button !== 0)) return;
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    activePointer = event.pointerId;
    canvasRect = canvas.getBoundingClientRect();
    beginStroke();
    addPoints([event]);
  });
  canvas.addEventListener("pointermove", (event) => {
    if (event.pointerId !== activePointer) return;
    const coalesced = typeof event.getCoalescedEvents === "function" ? event.getCoalescedEvents() : [];
    addPoints(coalesced.length > 0 ? coalesced : [event]);
  });
  canvas.addEventListener("pointerup", (event) => {
    if (event.pointerId !== activePointer) return;
    addPoints([event], true);
    endStroke();
  });
  for (const type of /** @type {const} */ (["pointercancel", "lostpointercapture"])) {
    canvas.addEventListener(type, (event) => {
      if (event.pointerId === activePointer) endStroke();
    });
  }

  // ---- frames
  let frameRequested = false;
  function invalidate() {
    if (frameRequested) return;
    frameRequested = true;
    window.requestAnimationFrame(frame);
  }

  function frame() {
    frameRequested = false;
    flushPoints();
    /** @type {Drawable[]} */
    const live = [...previews.values()];
    if (current) live.push({ ...current.style, pts: current.pts });
    renderer.draw({ board, pending: inflight.values(), live });
    canvas.dataset.seq = String(board.seq);
    canvas.dataset.strokes = String(board.size);
    canvas.dataset.pending = String(inflight.size);
    hint.style.opacity = board.size > 0 || inflight.size > 0 || previews.size > 0 || current ? "0" : "1";
  }

  window.setInterval(() => {
    const idleSince = Date.now() - PREVIEW_IDLE_MS;
    for (const [id, preview] of previews) {
      if (preview.seen < idleSince) {
        previews.delete(id);
        invalidate();
      }
    }
  }, 5_000);

  new ResizeObserver(() => {
    renderer.resize();
    invalidate();
  }).observe(canvas);
  watchPixelRatio(() => {
    renderer.resize();
    invalidate();
  });

  connection.start();
  invalidate();
}
