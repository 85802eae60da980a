// The people on a board: the participant list (with who is idle, who only views, whom I follow) and the
// others' cursors with their names, kept over the canvas as the camera moves.

import { boardToScreen } from "./geometry.js";
import { isValidColor } from "./protocol.js";

/** @typedef {import("./protocol.js").Participant} Participant */
/** @typedef {import("./geometry.js").Camera} Camera */
/** @typedef {{x: number, y: number, zoom: number}} ViewState */

/**
 * What the session's owner can do to the others in the list (none: nobody here may).
 * @typedef {Object} Moderation
 * @property {() => boolean} allowed whether I may remove people (I own the session)
 * @property {(participant: Participant, ban: boolean) => void} remove kick, or ban
 */

/** A cursor that has not moved for this long (ms) fades away. */
const CURSOR_STALE_MS = 20_000;

/**
 * @typedef {Object} CursorMark
 * @property {number} x board units
 * @property {number} y
 * @property {number} seen ms
 * @property {HTMLElement} element
 */

export class People {
  /** @type {Map<string, Participant>} by participant (connection) id */
  all = new Map();
  /** @type {Participant | null} */
  me = null;
  /** @type {string | null} the participant whose viewport mine follows */
  following = null;
  /** @type {Map<string, ViewState>} the latest viewport of each participant */
  views = new Map();
  /** @type {Map<string, CursorMark>} */
  cursors = new Map();
  /** @type {Moderation | null} */
  moderation = null;
  /** @type {HTMLElement | null} where the number of people here is shown (the folded panel's button) */
  counter = null;

  /**
   * @param {HTMLUListElement} list
   * @param {HTMLElement} layer the element the cursors live in (over the canvas)
   * @param {(participant: Participant | null) => void} onFollow called when following starts or stops
   */
  constructor(list, layer, onFollow) {
    this.list = list;
    this.layer = layer;
    this.onFollow = onFollow;
  }

  /**
   * Everyone, as a welcome says.
   * @param {Participant} me
   * @param {Participant[]} participants
   */
  reset(me, participants) {
    this.me = me;
    this.all.clear();
    for (const participant of participants) this.all.set(participant.id, participant);
    this.all.set(me.id, me);
    for (const id of [...this.cursors.keys()]) if (!this.all.has(id)) this.#dropCursor(id);
    for (const id of [...this.views.keys()]) if (!this.all.has(id)) this.views.delete(id);
    if (this.following && !this.all.has(this.following)) this.follow(null);
    this.render();
  }

  /** @param {Participant} participant */
  joined(participant) {
    this.all.set(participant.id, participant);
    this.render();
  }

  /** @param {string} id */
  left(id) {
    this.all.delete(id);
    this.views.delete(id);
    this.#dropCursor(id);
    if (this.following === id) this.follow(null);
    this.render();
  }

  /**
   * @param {string} id
   * @param {boolean} idle
   */
  presence(id, idle) {
    const participant = this.all.get(id);
    if (!participant || participant.idle === idle) return;
    this.all.set(id, { ...participant, idle });
    this.render();
  }

  /**
   * @param {string | null} id whom to follow, or null to stop
   */
  follow(id) {
    const target = id === null || id === this.me?.id ? null : (this.all.get(id) ?? null);
    this.following = target?.id ?? null;
    this.render();
    this.onFollow(target);
  }

  /**
   * Someone's pointer moved.
   * @param {string} id
   * @param {number} x
   * @param {number} y
   * @param {Camera} camera
   */
  cursor(id, x, y, camera) {
    const participant = this.all.get(id);
    if (!participant || id === this.me?.id) return;
    let mark = this.cursors.get(id);
    if (!mark) {
      const element = document.createElement("div");
      element.className = "cursor";
      element.dataset.testid = "cursor";
      element.dataset.participantId = id;
      const arrow = document.createElementNS("http://www.w3.org/2000/svg", "svg");
      arrow.setAttribute("viewBox", "0 0 16 16");
      arrow.setAttribute("class", "cursor-arrow");
      arrow.innerHTML = '<path d="M1 1l5.5 13 2-5.5L14 6.5z"/>';
      const label = document.createElement("span");
      label.className = "cursor-name";
      element.append(arrow, label);
      this.layer.append(element);
      mark = { x, y, seen: 0, element };
      this.cursors.set(id, mark);
    }
    const color = isValidColor(participant.color) ? participant.color : "#495057";
    mark.element.style.setProperty("--who", color);
    mark.element.dataset.name = participant.name || "Guest";
    const label = /** @type {HTMLElement} */ (mark.element.lastElementChild);
    label.textContent = participant.name || "Guest";
    mark.x = x;
    mark.y = y;
    mark.seen = Date.now();
    mark.element.classList.remove("stale");
    this.#place(mark, camera);
  }

  /**
   * Put every cursor where its board point is now on screen, and fade the ones that stopped moving.
   * @param {Camera} camera
   */
  placeCursors(camera) {
    const staleBefore = Date.now() - CURSOR_STALE_MS;
    for (const mark of this.cursors.values()) {
      this.#place(mark, camera);
      mark.element.classList.toggle("stale", mark.seen < staleBefore);
    }
  }

  /**
   * @param {CursorMark} mark
   * @param {Camera} camera
   */
  #place(mark, camera) {
    const at = boardToScreen(camera, mark.x, mark.y);
    mark.element.style.transform = `translate(${at.x.toFixed(1)}px, ${at.y.toFixed(1)}px)`;
  }

  /** @param {string} id */
  #dropCursor(id) {
    this.cursors.get(id)?.element.remove();
    this.cursors.delete(id);
  }

  render() {
    if (this.counter) this.counter.textContent = String(this.all.size);
    const me = this.me;
    const people = [...this.all.values()].sort((a, b) => {
      if (a.id === me?.id) return -1;
      if (b.id === me?.id) return 1;
      return a.name.localeCompare(b.name) || a.id.localeCompare(b.id);
    });
    this.list.replaceChildren(
      ...people.map((person) => {
        const item = document.createElement("li");
        item.className = "participant";
        item.dataset.testid = "participant";
        item.dataset.participantId = person.id;
        item.dataset.name = person.name || "Guest";
        item.dataset.role = person.role;
        item.classList.toggle("idle", person.idle);
        const dot = document.createElement("span");
        dot.className = "participant-dot";
        dot.style.background = isValidColor(person.color) ? person.color : "#adb5bd";
        const name = document.createElement("span");
        name.className = "participant-name";
        name.textContent = person.name || "Guest";
        item.append(dot, name);
        if (person.id === me?.id) {
          const you = document.createElement("span");
          you.className = "participant-tag";
          you.textContent = "you";
          item.append(you);
        }
        if (person.role === "viewer") {
          const tag = document.createElement("span");
          tag.className = "participant-tag";
          tag.textContent = "viewing";
          item.append(tag);
        }
        if (person.idle) item.title = `${person.name || "Guest"} is away`;
        if (person.id !== me?.id) {
          const follow = document.createElement("button");
          follow.type = "button";
          follow.className = "follow";
          follow.dataset.testid = "follow";
          const active = this.following === person.id;
          follow.classList.toggle("active", active);
          follow.textContent = active ? "Following" : "Follow";
          follow.title = active ? "Stop following" : `See what ${person.name || "Guest"} sees`;
          follow.setAttribute("aria-pressed", String(active));
          follow.addEventListener("click", () => this.follow(active ? null : person.id));
          item.append(follow);
        }
        const moderation = this.moderation;
        if (moderation?.allowed() && person.id !== me?.id && person.role !== "owner" && person.user !== me?.user) {
          for (const [ban, label, title] of /** @type {const} */ ([
            [false, "Remove", "Remove from the board now (they may join again)"],
            [true, "Ban", "Remove and keep out of this board"],
          ])) {
            const button = document.createElement("button");
            button.type = "button";
            button.className = ban ? "moderate ban" : "moderate";
            button.dataset.testid = ban ? "ban" : "kick";
            button.textContent = label;
            button.title = `${title}: ${person.name || "Guest"}`;
            button.addEventListener("click", () => moderation.remove(person, ban));
            item.append(button);
          }
        }
        return item;
      }),
    );
  }
}
