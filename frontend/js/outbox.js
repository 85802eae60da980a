// The outbox: durable ops sent but not yet acknowledged by the room, kept in memory and in a Storage
// (localStorage) per session so that a reload or a lost connection loses no stroke. After a reconnect every
// entry is sent again with the same op id: the room answers a resend of an op it already has with `ack`.
// Pure: the Storage is passed in (any object with getItem/setItem/removeItem, or null for memory only).

import { decodeOp } from "./protocol.js";

/** @typedef {import("./protocol.js").Op} Op */

/**
 * The part of the Web Storage API the outbox uses.
 * @typedef {Pick<Storage, "getItem" | "setItem" | "removeItem">} StorageLike
 */

/**
 * @typedef {Object} OutboxEntry
 * @property {Op} op
 * @property {number} sends how many times the op was put on a connection
 */

/** An op that went out this many times without an answer is dropped: it probably breaks the connection. */
export const MAX_SENDS = 8;

/**
 * @param {string} namespace
 * @param {string} session
 */
export function outboxKey(namespace, session) {
  return `drawnet.outbox.${namespace}.${session}`;
}

export class Outbox {
  /** @type {Map<string, OutboxEntry>} by op id, in the order they were added */
  #entries = new Map();
  /** @type {StorageLike | null} */
  #storage;
  #key;

  /**
   * @param {StorageLike | null} storage
   * @param {string} key where the entries live in the storage (see `outboxKey`)
   */
  constructor(storage, key) {
    this.#storage = storage;
    this.#key = key;
    for (const entry of this.#read()) this.#entries.set(entry.op.id, entry);
  }

  /** @returns {OutboxEntry[]} what the storage holds now (other tabs of the session write there too) */
  #read() {
    if (!this.#storage) return [];
    /** @type {unknown} */
    let raw;
    try {
      raw = JSON.parse(this.#storage.getItem(this.#key) ?? "[]");
    } catch {
      return [];
    }
    if (!Array.isArray(raw)) return [];
    /** @type {OutboxEntry[]} */
    const entries = [];
    for (const item of raw) {
      try {
        const op = decodeOp(item?.op);
        entries.push({ op, sends: typeof item.sends === "number" ? item.sends : 0 });
      } catch {
        // A damaged entry is dropped; the others still count.
      }
    }
    return entries;
  }

  /**
   * Read, change, write: the storage is shared by every tab of the session, so each change starts from what
   * is stored now rather than from this tab's copy.
   * @param {(stored: Map<string, OutboxEntry>) => void} change
   */
  #update(change) {
    if (!this.#storage) return;
    const stored = new Map(this.#read().map((entry) => [entry.op.id, entry]));
    change(stored);
    try {
      if (stored.size === 0) this.#storage.removeItem(this.#key);
      else this.#storage.setItem(this.#key, JSON.stringify([...stored.values()]));
    } catch {
      // Storage full or disabled: the entries still live in memory for this page.
    }
  }

  /**
   * Keep an op until it is acknowledged.
   * @param {Op} op
   */
  add(op) {
    const entry = { op, sends: 0 };
    this.#entries.set(op.id, entry);
    this.#update((stored) => stored.set(op.id, entry));
  }

  /**
   * Forget an op (acknowledged, refused, or seen committed); false when it was not here.
   * @param {string} id
   */
  remove(id) {
    const had = this.#entries.delete(id);
    if (had) this.#update((stored) => stored.delete(id));
    return had;
  }

  /** @param {string} id */
  has(id) {
    return this.#entries.has(id);
  }

  /**
   * Count one more send of an op; false (and the op is dropped) once it went out MAX_SENDS times.
   * @param {string} id
   */
  noteSend(id) {
    const entry = this.#entries.get(id);
    if (!entry) return false;
    if (entry.sends >= MAX_SENDS) {
      this.remove(id);
      return false;
    }
    entry.sends += 1;
    const sends = entry.sends;
    this.#update((stored) => {
      const mine = stored.get(id);
      if (mine) mine.sends = Math.max(mine.sends, sends);
    });
    return true;
  }

  /** @returns {Op[]} the pending ops, oldest first */
  get ops() {
    return [...this.#entries.values()].map((entry) => entry.op);
  }

  get size() {
    return this.#entries.size;
  }
}
