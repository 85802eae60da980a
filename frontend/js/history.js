// The board's history: a timeline over every op the drawing service stored (GET …/history, from SQL), a
// slider, play and pause, a step at a time, who drew each thing and when (hover or click an item), and
// "restore as a copy" (a new board as it was at that point). The past board is built by board.js from
// the ops, on a canvas of its own over the live one, which goes on underneath untouched.

import { ApiError } from "./api.js";
import { Board } from "./board.js";
import { SpatialIndex } from "./geometry.js";
import { Renderer } from "./render.js";

/** @typedef {{seq: number, by: string, ts: number, op: import("./protocol.js").Op}} HistoryEntry */

/** How long one op shows while playing, at most (ms); a long history plays in about PLAY_SECONDS. */
export const STEP_MS = 120;
export const PLAY_SECONDS = 20;

/** A checkpoint of the board (its whole state) every this many ops: a jump back replays at most these. */
export const CHECKPOINT_OPS = 5000;

/**
 * The board at any point of a list of ops. Moving forward applies the ops in between; moving back starts
 * from the nearest checkpoint before the point (states kept while the timeline first went past them) and
 * applies the rest (bench/history: any point of 50,000 ops within the 500 ms target).
 */
export class Timeline {
  /** @param {HistoryEntry[]} entries in log order */
  constructor(entries) {
    this.entries = entries;
    this.board = new Board();
    /** How many ops the board holds (0: none, entries.length: all). */
    this.position = 0;
    /** @type {Map<number, import("./protocol.js").BoardState>} board states by position (multiples of CHECKPOINT_OPS) */
    this.checkpoints = new Map([[0, this.board.state()]]);
  }

  /** @param {number} position how many of the ops to show */
  moveTo(position) {
    const target = Math.max(0, Math.min(this.entries.length, Math.round(position)));
    if (target < this.position) {
      let from = Math.floor(target / CHECKPOINT_OPS) * CHECKPOINT_OPS;
      while (!this.checkpoints.has(from)) from -= CHECKPOINT_OPS;
      this.board.loadState(/** @type {import("./protocol.js").BoardState} */ (this.checkpoints.get(from)));
      this.position = from;
    }
    for (let i = this.position; i < target; i += 1) {
      this.board.apply(committed(this.entries[i]));
      if ((i + 1) % CHECKPOINT_OPS === 0 && !this.checkpoints.has(i + 1)) this.checkpoints.set(i + 1, this.board.state());
    }
    this.position = target;
  }

  /** The last op shown, if any. */
  get current() {
    return this.position > 0 ? this.entries[this.position - 1] : null;
  }

  /** The seq the board shows (0: before anything). */
  get seq() {
    return this.current?.seq ?? 0;
  }

  /**
   * Who added an item and when: the op that added it.
   * @param {string} itemId
   */
  addedBy(itemId) {
    return this.entries.find((entry) => entry.op.id === itemId) ?? null;
  }
}

/**
 * @param {HistoryEntry} entry
 * @returns {import("./protocol.js").Committed}
 */
function committed(entry) {
  return { t: "op", seq: entry.seq, by: entry.by, op: entry.op };
}

/**
 * A time for people: "14:03:21", with the date when it was not today.
 * @param {number} ts unix seconds
 * @param {Date} [now]
 */
export function when(ts, now = new Date()) {
  const date = new Date(ts * 1000);
  const time = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  return date.toDateString() === now.toDateString() ? time : `${date.toLocaleDateString()} ${time}`;
}

/**
 * @typedef {Object} HistoryHost
 * @property {import("./api.js").Api} api
 * @property {string} session
 * @property {() => string | null} bearer
 * @property {() => import("./geometry.js").Camera} camera the live board's view, which the past one shows too
 * @property {(user: string) => string | null} nameOf a present participant's name, by user
 * @property {(message: string) => void} toast
 * @property {(session: string) => void} open go to another board
 */

/**
 * @param {HistoryHost} host
 * @param {{button: HTMLButtonElement, bar: HTMLElement, canvas: HTMLCanvasElement, slider: HTMLInputElement,
 *   play: HTMLButtonElement, back: HTMLButtonElement, forward: HTMLButtonElement, label: HTMLElement,
 *   who: HTMLElement, restore: HTMLButtonElement, close: HTMLButtonElement}} ui
 */
export function attachHistory(host, ui) {
  /** @type {Timeline | null} */
  let timeline = null;
  /** @type {Renderer | null} */
  let renderer = null;
  /** @type {Record<string, string>} */
  let authors = {};
  /** @type {ReturnType<typeof setInterval> | null} */
  let playing = null;
  let frame = 0;

  /** @param {string} user */
  const nameOf = (user) => host.nameOf(user) ?? authors[user] ?? (user.startsWith("guest:") ? "a guest" : user);

  function draw() {
    if (frame || !renderer) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      if (!renderer) return;
      renderer.setCamera(host.camera());
      if (renderer.draw({ pending: [], live: [], erasing: [] })) draw();
    });
  }

  function show() {
    if (!timeline) return;
    const total = timeline.entries.length;
    ui.slider.max = String(total);
    ui.slider.value = String(timeline.position);
    const current = timeline.current;
    ui.label.textContent = current
      ? `${timeline.position} of ${total} · ${current.op.kind} by ${nameOf(current.by)} · ${when(current.ts)}`
      : `0 of ${total} · the empty board`;
    ui.label.dataset.seq = String(timeline.seq);
    ui.back.disabled = timeline.position === 0;
    ui.forward.disabled = timeline.position === total;
    draw();
  }

  /** @param {number} position */
  function moveTo(position) {
    timeline?.moveTo(position);
    show();
  }

  function pause() {
    if (playing !== null) clearInterval(playing);
    playing = null;
    ui.play.textContent = "Play";
    ui.play.setAttribute("aria-pressed", "false");
  }

  function play() {
    if (!timeline) return;
    if (timeline.position === timeline.entries.length) moveTo(0);
    const total = timeline.entries.length;
    const step = Math.max(1, Math.ceil(total / ((PLAY_SECONDS * 1000) / STEP_MS)));
    ui.play.textContent = "Pause";
    ui.play.setAttribute("aria-pressed", "true");
    playing = setInterval(() => {
      if (!timeline || timeline.position >= timeline.entries.length) {
        pause();
        return;
      }
      moveTo(timeline.position + step);
    }, STEP_MS);
  }

  async function open() {
    ui.button.disabled = true;
    try {
      /** @type {HistoryEntry[]} */
      const entries = [];
      /** @type {number | null} */
      let after = 0;
      authors = {};
      while (after !== null) {
        /** @type {{ops: HistoryEntry[], authors: Record<string, string>, next: number | null}} */
        const page = await host.api.history(host.session, after, host.bearer());
        entries.push(...page.ops);
        Object.assign(authors, page.authors);
        after = page.next;
      }
      timeline = new Timeline(entries);
      renderer = new Renderer(ui.canvas, timeline.board, new SpatialIndex());
      ui.bar.hidden = false;
      ui.canvas.hidden = false;
      renderer.resize();
      document.body.classList.add("in-history");
      moveTo(entries.length);
    } catch (error) {
      host.toast(`The history is not available: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      ui.button.disabled = false;
    }
  }

  function close() {
    pause();
    timeline = null;
    renderer?.board.onChange(null);
    renderer = null;
    ui.bar.hidden = true;
    ui.canvas.hidden = true;
    ui.who.hidden = true;
    document.body.classList.remove("in-history");
  }

  /** @param {PointerEvent | MouseEvent} event */
  function whoIsAt(event) {
    if (!timeline || !renderer) return;
    const box = ui.canvas.getBoundingClientRect();
    const camera = host.camera();
    const x = camera.x + (event.clientX - box.left) / camera.zoom;
    const y = camera.y + (event.clientY - box.top) / camera.zoom;
    const [top] = renderer.strokesAt(x, y, 4 / camera.zoom);
    const added = top ? timeline.addedBy(top.id) : null;
    if (!added) {
      ui.who.hidden = true;
      return;
    }
    ui.who.textContent = `${added.op.kind} drawn by ${nameOf(added.by)}, ${when(added.ts)}`;
    ui.who.dataset.item = added.op.id;
    ui.who.style.left = `${event.clientX - box.left + 14}px`;
    ui.who.style.top = `${event.clientY - box.top + 14}px`;
    ui.who.hidden = false;
  }

  ui.button.addEventListener("click", () => (timeline ? close() : void open()));
  ui.close.addEventListener("click", close);
  ui.slider.addEventListener("input", () => {
    pause();
    moveTo(Number(ui.slider.value));
  });
  ui.play.addEventListener("click", () => (playing === null ? play() : pause()));
  ui.back.addEventListener("click", () => {
    pause();
    moveTo((timeline?.position ?? 0) - 1);
  });
  ui.forward.addEventListener("click", () => {
    pause();
    moveTo((timeline?.position ?? 0) + 1);
  });
  ui.canvas.addEventListener("pointermove", whoIsAt);
  ui.canvas.addEventListener("click", whoIsAt);
  ui.canvas.addEventListener("pointerleave", () => (ui.who.hidden = true));
  ui.restore.addEventListener("click", async () => {
    if (!timeline) return;
    try {
      const copy = await host.api.copyBoard(host.session, timeline.seq);
      host.toast(`Restored as a copy: ${copy.session.title}`);
      host.open(copy.session.ref ?? copy.session.name);
    } catch (error) {
      const why = error instanceof ApiError && error.status === 401 ? "log in to keep a copy" : error instanceof Error ? error.message : String(error);
      host.toast(`No copy made: ${why}`);
    }
  });
  document.addEventListener("keydown", (event) => {
    if (timeline && event.key === "Escape") close();
  });
  return {
    /** Match the past board's canvas to its size (the live one's resize). */
    resize() {
      renderer?.resize();
      draw();
    },
    /** The live view moved: the past one follows it. */
    redraw: draw,
  };
}
