// The web app's URLs: `/` is the lobby, `/s/<session>` a board. Without a server that serves index.html
// for every path (a page opened from a plain static server), `#/s/<session>` works too. Pure: no DOM.

import { isValidSessionName, isValidSessionRef } from "./protocol.js";

/**
 * A board's route carries the share link's code when the page was opened from one (`?link=…`).
 * @typedef {{view: "lobby", error?: string} | {view: "board", session: string, link: string | null}} Route
 */

/**
 * @param {string} pathname
 * @param {string} hash
 * @param {string} [search] the query string (`?link=…`)
 * @returns {Route}
 */
export function parseRoute(pathname, hash, search = "") {
  const match = /^\/s\/([^/]+)\/?$/.exec(pathname) ?? /^#\/?s\/([^/]+)\/?$/.exec(hash);
  if (!match) return { view: "lobby" };
  let session = "";
  try {
    session = decodeURIComponent(match[1]);
  } catch {
    // Not even decodable: the lobby says so below.
  }
  if (!isValidSessionRef(session)) return { view: "lobby", error: `"${session || match[1]}" is not a board name` };
  const link = new URLSearchParams(search).get("link");
  return { view: "board", session, link: link && /^[A-Za-z0-9_.-]{1,128}$/.test(link) ? link : null };
}

/**
 * The board a person means when they type or paste something into the lobby: a board name, a board's
 * address (`https://host/s/name?link=code`), or a hash link. Null when it is none of these.
 * @param {string} text
 * @returns {{session: string, link: string | null} | null}
 */
export function parseBoardInput(text) {
  const trimmed = text.trim();
  if (!trimmed) return null;
  if (/^https?:\/\//i.test(trimmed)) {
    try {
      const url = new URL(trimmed);
      const route = parseRoute(url.pathname, url.hash, url.search);
      return route.view === "board" ? { session: route.session, link: route.link } : null;
    } catch {
      return null;
    }
  }
  const route = parseRoute(trimmed.startsWith("/") ? trimmed.split("?")[0] : "", trimmed.startsWith("#") ? trimmed : "");
  if (route.view === "board") return { session: route.session, link: null };
  if (isValidSessionRef(trimmed)) return { session: trimmed, link: null };
  const name = normalizeSessionName(trimmed);
  return isValidSessionName(name) ? { session: name, link: null } : null;
}

/**
 * The link to a board.
 * @param {string} session
 * @param {boolean} paths whether the server serves `/s/<session>` (else a hash link is used)
 */
export function boardPath(session, paths) {
  return paths ? `/s/${session}` : `#/s/${session}`;
}

/**
 * What someone probably meant as a board name: lowercase, runs of other characters as single dashes.
 * @param {string} text
 */
export function normalizeSessionName(text) {
  return text
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63)
    .replace(/-+$/, "");
}

const ADJECTIVES = [
  "amber", "bold", "brisk", "calm", "clever", "cosy", "crisp", "dusky", "eager", "fuzzy", "gentle", "golden",
  "happy", "jolly", "lively", "lucky", "mellow", "misty", "nimble", "quiet", "rapid", "rosy", "shiny", "sunny",
  "swift", "tidy", "vivid", "witty",
];
const NOUNS = [
  "badger", "comet", "crane", "daisy", "falcon", "fern", "finch", "fox", "harbor", "heron", "lark", "lynx",
  "maple", "meadow", "moose", "orchid", "otter", "panda", "pebble", "pine", "quail", "river", "robin", "sparrow",
  "tiger", "tulip", "walrus", "willow",
];

/**
 * A fresh board name such as `brisk-otter-4821`.
 * @param {() => number} [random] uniform in [0, 1)
 */
export function randomSessionName(random = Math.random) {
  /** @param {string[]} list */
  const pick = (list) => list[Math.floor(random() * list.length) % list.length];
  const number = String(Math.floor(random() * 10_000)).padStart(4, "0");
  return `${pick(ADJECTIVES)}-${pick(NOUNS)}-${number}`;
}
