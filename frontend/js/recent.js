// The boards this browser opened lately, newest first, for the lobby. Pure: the storage is passed in.

import { isValidSessionRef } from "./protocol.js";

/** @typedef {import("./outbox.js").StorageLike} StorageLike */
/** @typedef {{name: string, title: string, openedAt: number}} RecentBoard */

const KEY = "drawnet.recent";
/** Boards remembered at most. */
export const MAX_RECENT = 12;

/**
 * @param {StorageLike | null} storage localStorage
 * @returns {RecentBoard[]}
 */
export function recentBoards(storage) {
  try {
    const raw = JSON.parse(storage?.getItem(KEY) ?? "[]");
    if (!Array.isArray(raw)) return [];
    return raw
      .filter((item) => item && isValidSessionRef(item.name) && typeof item.openedAt === "number")
      .map((item) => ({ name: item.name, title: typeof item.title === "string" ? item.title : "", openedAt: item.openedAt }))
      .slice(0, MAX_RECENT);
  } catch {
    return [];
  }
}

/**
 * Note a board as opened now (moving it to the top).
 * @param {StorageLike | null} storage
 * @param {string} name
 * @param {string} [title] kept from before when not given
 * @param {number} [now]
 */
export function rememberBoard(storage, name, title, now = Date.now()) {
  const before = recentBoards(storage);
  const previous = before.find((item) => item.name === name);
  const entry = { name, title: title ?? previous?.title ?? "", openedAt: now };
  const after = [entry, ...before.filter((item) => item.name !== name)].slice(0, MAX_RECENT);
  try {
    storage?.setItem(KEY, JSON.stringify(after));
  } catch {
    // Storage full or disabled.
  }
  return after;
}

/**
 * "just now", "5 min ago", "3 h ago", "2 days ago".
 * @param {number} then ms
 * @param {number} [now] ms
 */
export function timeAgo(then, now = Date.now()) {
  const seconds = Math.max(0, (now - then) / 1000);
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  const days = Math.floor(seconds / 86_400);
  return days === 1 ? "yesterday" : `${days} days ago`;
}
