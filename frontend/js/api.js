// What the page knows about the platform: the config the drawing service injects into index.html, and the
// URLs derived from it. (The REST calls of later features live here too.)

import { isValidSessionName } from "./protocol.js";

/**
 * @typedef {Object} Config
 * @property {string} roomUrl base WebSocket URL of the rooms, without a trailing slash
 * @property {string} namespace the namespace whose sessions this page opens
 * @property {boolean} injected whether a server injected the config (false: a page opened without one)
 */

/** The port the room listens on when nothing says otherwise (RoomSettings.port). */
export const DEFAULT_ROOM_PORT = 8001;

/**
 * Read the config from `<script id="drawnet-config" type="application/json">`. Without a usable one (the
 * placeholder was not replaced), the room is assumed on this host's port 8001.
 * @param {{textContent: string | null} | null} element
 * @param {{protocol: string, hostname: string}} location
 * @returns {Config}
 */
export function parseConfig(element, location) {
  /** @type {Record<string, unknown>} */
  let raw = {};
  try {
    const parsed = JSON.parse(element?.textContent ?? "");
    if (parsed && typeof parsed === "object") raw = parsed;
  } catch {
    // No config: the fallbacks below.
  }
  const roomUrl = typeof raw.roomUrl === "string" && /^wss?:\/\/./.test(raw.roomUrl) ? raw.roomUrl : null;
  const namespace = isValidSessionName(raw.namespace) ? /** @type {string} */ (raw.namespace) : "default";
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const host = location.hostname || "127.0.0.1";
  return {
    roomUrl: (roomUrl ?? `${scheme}//${host}:${DEFAULT_ROOM_PORT}`).replace(/\/+$/, ""),
    namespace,
    injected: roomUrl !== null,
  };
}

/** @returns {Config} the config of this page */
export function readConfig() {
  return parseConfig(document.getElementById("drawnet-config"), window.location);
}

/**
 * The WebSocket URL of a session's room.
 * @param {Config} config
 * @param {string} session
 */
export function roomSocketUrl(config, session) {
  return `${config.roomUrl}/rooms/${encodeURIComponent(session)}`;
}
