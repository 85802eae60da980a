// Who this tab is: its client id (stable across reloads of the tab, unique among open tabs), the ids of
// its ops, and the person's remembered preferences. No DOM; storages and channels are passed in.

import { HardLimits, isValidColor } from "./protocol.js";

/** @typedef {import("./outbox.js").StorageLike} StorageLike */

const CLIENT_KEY = "drawnet.client";
const PREFS_KEY = "drawnet.prefs";
/** The BroadcastChannel on which tabs check that their client ids differ. */
export const CLIENT_CHANNEL = "drawnet.clients";

/** Colours a new person gets one of; all readable on the light board. */
export const PALETTE = Object.freeze([
  "#1e1e1e", "#e03131", "#f08c00", "#2f9e44", "#1971c2", "#6741d9", "#c2255c", "#0c8599",
]);

/**
 * Random letters and digits (crypto quality, available outside secure contexts too).
 * @param {number} length
 */
export function randomToken(length) {
  const bytes = new Uint8Array(length);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (byte) => (byte % 36).toString(36)).join("");
}

/**
 * Op and stroke ids for one page load: `<client>.<load>.<counter>`. The load part keeps ids unique when
 * a reloaded tab (same client id) counts from zero again.
 * @param {string} clientId
 * @param {string} [load]
 * @returns {() => string}
 */
export function makeIdFactory(clientId, load = randomToken(6)) {
  let counter = 0;
  return () => {
    counter += 1;
    return `${clientId}.${load}.${counter.toString(36)}`.slice(-HardLimits.MAX_ID_LENGTH);
  };
}

/**
 * @typedef {Object} ChannelLike
 * @property {((event: MessageEvent) => void) | null} onmessage
 * @property {(message: unknown) => void} postMessage
 */

/**
 * This tab's client id, kept in sessionStorage so a reload keeps it. A duplicated tab copies sessionStorage:
 * the tabs ask each other over a BroadcastChannel and the newcomer takes a fresh id, so two open tabs never
 * share one (the room would take them for one client).
 * @param {StorageLike | null} storage sessionStorage
 * @param {ChannelLike | null} channel a BroadcastChannel kept open for the page's life, or null
 * @param {number} [waitMs] how long to wait for another tab to object
 * @returns {Promise<string>}
 */
export async function claimClientId(storage, channel, waitMs = 60) {
  let id = safeGet(storage, CLIENT_KEY) ?? "";
  if (!/^c[a-z0-9]{10}$/.test(id)) id = `c${randomToken(10)}`;
  let taken = false;
  /** @type {string | null} */
  let claimed = null;
  if (channel) {
    channel.onmessage = (event) => {
      const data = /** @type {{ask?: string, taken?: string}} */ (event.data ?? {});
      if (claimed !== null && data.ask === claimed) channel.postMessage({ taken: claimed });
      if (claimed === null && data.taken === id) taken = true;
    };
    channel.postMessage({ ask: id });
    await new Promise((resolve) => setTimeout(resolve, waitMs));
    if (taken) id = `c${randomToken(10)}`;
  }
  claimed = id;
  safeSet(storage, CLIENT_KEY, id);
  return id;
}

/**
 * @typedef {Object} Prefs
 * @property {string} name display name
 * @property {string} color the person's colour (their dot in the participant list)
 * @property {string} penColor
 * @property {number} penWidth
 */

/**
 * The remembered preferences, and whether there were any (a first visit asks for a name).
 * @param {StorageLike | null} storage localStorage
 * @param {() => number} [random]
 * @returns {{prefs: Prefs, saved: boolean}}
 */
export function loadPrefs(storage, random = Math.random) {
  const color = PALETTE[Math.floor(random() * PALETTE.length) % PALETTE.length];
  /** @type {Prefs} */
  const prefs = { name: "", color, penColor: color, penWidth: 4 };
  const text = safeGet(storage, PREFS_KEY);
  if (text === null) return { prefs, saved: false };
  try {
    const raw = JSON.parse(text);
    if (typeof raw.name === "string") prefs.name = raw.name.slice(0, HardLimits.MAX_NAME_LENGTH);
    if (isValidColor(raw.color)) prefs.color = raw.color;
    prefs.penColor = isValidColor(raw.penColor) ? raw.penColor : prefs.color;
    if (typeof raw.penWidth === "number" && raw.penWidth > 0 && raw.penWidth <= 200) prefs.penWidth = raw.penWidth;
  } catch {
    return { prefs, saved: false };
  }
  return { prefs, saved: true };
}

/**
 * @param {StorageLike | null} storage
 * @param {Prefs} prefs
 */
export function savePrefs(storage, prefs) {
  safeSet(storage, PREFS_KEY, JSON.stringify(prefs));
}

/**
 * @param {StorageLike | null} storage
 * @param {string} key
 */
function safeGet(storage, key) {
  try {
    return storage?.getItem(key) ?? null;
  } catch {
    return null;
  }
}

/**
 * @param {StorageLike | null} storage
 * @param {string} key
 * @param {string} value
 */
function safeSet(storage, key, value) {
  try {
    storage?.setItem(key, value);
  } catch {
    // Storage disabled or full: the value lives for this page only.
  }
}
