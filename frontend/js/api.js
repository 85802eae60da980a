// What the page knows about the platform: the config the drawing service injects into index.html, the
// URLs derived from it, and the REST calls (sessions, logins, join tokens, exports). No DOM: `fetch` can
// be injected, so Node tests can play the server.

import { isValidSessionName } from "./protocol.js";

/**
 * @typedef {Object} Config
 * @property {string} roomUrl base WebSocket URL of the rooms, without a trailing slash
 * @property {string} apiUrl base URL of the REST API (`…/api/v1`), without a trailing slash
 * @property {string} namespace the namespace whose sessions this page opens
 * @property {boolean} injected whether a server injected the config (false: a page opened without one)
 */

/** The port the room listens on when nothing says otherwise (RoomSettings.port). */
export const DEFAULT_ROOM_PORT = 8001;

/**
 * Read the config from `<script id="drawnet-config" type="application/json">`. Without a usable one (the
 * placeholder was not replaced), the room is assumed on this host's port 8001 and the API on this origin.
 * @param {{textContent: string | null} | null} element
 * @param {{protocol: string, hostname: string, origin?: string}} location
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
  const apiUrl = typeof raw.apiUrl === "string" && /^https?:\/\/./.test(raw.apiUrl) ? raw.apiUrl : null;
  const namespace = isValidSessionName(raw.namespace) ? /** @type {string} */ (raw.namespace) : "default";
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const host = location.hostname || "127.0.0.1";
  return {
    roomUrl: (roomUrl ?? `${scheme}//${host}:${DEFAULT_ROOM_PORT}`).replace(/\/+$/, ""),
    apiUrl: (apiUrl ?? `${location.origin ?? ""}/api/v1`).replace(/\/+$/, ""),
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

// ------------------------------------------------------------------------------------ REST

/**
 * A refusal from the API (a problem details body), or no answer at all (`status` 0).
 */
export class ApiError extends Error {
  /** @override */
  name = "ApiError";
  /**
   * @param {number} status
   * @param {string} message
   */
  constructor(status, message) {
    super(message);
    this.status = status;
  }

  /** Whether asking again later may work (no answer, or the service is unavailable or rate-limiting). */
  get retryable() {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

/**
 * @typedef {Object} JoinToken
 * @property {string} token
 * @property {import("./protocol.js").RoleName} role
 * @property {string} session
 * @property {string} namespace
 * @property {string} sub
 * @property {string} name
 * @property {number} expires_at unix seconds
 * @property {string} room_url
 */

/** @typedef {{id: string, username: string, display_name: string, created_at: number}} User */

/**
 * @typedef {Object} Session
 * @property {string} name
 * @property {string} [namespace]
 * @property {string} [ref] how the API and the web app address it: `name`, or `<namespace>.<name>`
 * @property {string} title
 * @property {string | null} owner
 * @property {"public" | "private"} visibility
 * @property {boolean} allow_guests
 * @property {number} created_at
 * @property {string} url
 * @property {string | null} [your_role]
 * @property {RoomStatus | null} [status] the room as the platform sees it (on Kubernetes); null in the embedded platform
 */

/**
 * @typedef {Object} RoomStatus
 * @property {string} phase Pending, Running, Recovering, Ended, Failed or Terminating
 * @property {boolean} ready
 * @property {number} participants
 * @property {number} strokes
 */

/** @typedef {{id: string, role: string, expires_at: number, revoked?: boolean, code?: string | null, url?: string | null}} ShareLink */

/** @typedef {typeof fetch} Fetch */

export class Api {
  /**
   * @param {string} base the API's base URL (`config.apiUrl`)
   * @param {Fetch} [fetcher]
   */
  constructor(base, fetcher) {
    this.base = base;
    this.fetch = fetcher ?? ((input, init) => globalThis.fetch(input, init));
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {{body?: unknown, bearer?: string | null, raw?: boolean}} [options]
   * @returns {Promise<any>}
   */
  async request(method, path, { body, bearer, raw } = {}) {
    /** @type {Record<string, string>} */
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    /** @type {Response} */
    let response;
    try {
      response = await this.fetch(`${this.base}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
      });
    } catch (error) {
      throw new ApiError(0, `the drawing service did not answer (${String(error)})`);
    }
    if (!response.ok) throw new ApiError(response.status, await problem(response));
    if (raw) return response;
    if (response.status === 204) return null;
    return response.json();
  }

  /** @returns {Promise<User | null>} who is logged in (the login cookie), or null */
  async me() {
    try {
      return await this.request("GET", "/auth/me");
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return null;
      throw error;
    }
  }

  /**
   * @param {string} username
   * @param {string} password
   * @returns {Promise<{token: string, expires_at: number, user: User}>}
   */
  login(username, password) {
    return this.request("POST", "/auth/login", { body: { username, password } });
  }

  /**
   * @param {string} username
   * @param {string} password
   * @param {string} displayName
   * @returns {Promise<User>}
   */
  register(username, password, displayName) {
    return this.request("POST", "/users", { body: { username, password, display_name: displayName } });
  }

  logout() {
    return this.request("POST", "/auth/logout");
  }

  /**
   * @param {{title: string, visibility: "public" | "private", name?: string}} fields
   * @returns {Promise<Session>}
   */
  createSession(fields) {
    return this.request("POST", "/sessions", { body: fields });
  }

  /** @returns {Promise<Session[]>} public sessions and the caller's */
  listSessions(limit = 20) {
    return this.request("GET", `/sessions?limit=${limit}`);
  }

  /**
   * @param {string} session
   * @param {string | null} [bearer]
   * @returns {Promise<Session>}
   */
  getSession(session, bearer) {
    return this.request("GET", `/sessions/${encodeURIComponent(session)}`, { bearer });
  }

  /**
   * A join token for the room: as the logged-in user (cookie), the holder of a join token (`bearer`), with
   * a share link's code, or as a guest with a display name.
   * @param {string} session
   * @param {{name?: string, link?: string | null, bearer?: string | null}} options
   * @returns {Promise<JoinToken>}
   */
  join(session, { name = "", link = null, bearer = null }) {
    /** @type {{name: string, link?: string}} */
    const body = { name };
    if (link) body.link = link;
    return this.request("POST", `/sessions/${encodeURIComponent(session)}/join`, { body, bearer });
  }

  /**
   * Change a session's settings (its owner; absent fields keep their value): its title, who may open
   * it, whether guests may join.
   * @param {string} session
   * @param {{allow_guests?: boolean, title?: string, visibility?: "public" | "private"}} fields
   * @returns {Promise<Session>}
   */
  updateSession(session, fields) {
    return this.request("PATCH", `/sessions/${encodeURIComponent(session)}`, { body: fields });
  }

  /**
   * Remove a participant now (the session's owner); `ban`: and keep them out.
   * @param {string} session
   * @param {"kicks" | "bans"} how
   * @param {string} user the participant's user (the join token's subject)
   * @param {string} name their display name, kept with a ban
   */
  removeParticipant(session, how, user, name) {
    return this.request("POST", `/sessions/${encodeURIComponent(session)}/${how}`, { body: { user, name } });
  }

  /**
   * @param {string} session
   * @param {"editor" | "viewer"} role
   * @returns {Promise<ShareLink>}
   */
  createLink(session, role) {
    return this.request("POST", `/sessions/${encodeURIComponent(session)}/links`, { body: { role } });
  }

  /**
   * An export of the board, as the drawing service renders it.
   * @param {string} session
   * @param {"png" | "svg" | "json"} format
   * @param {string | null} bearer the join token (reads private boards too)
   * @param {number} seq the board at least at this seq: what the page shows (the service waits for it)
   * @returns {Promise<{blob: Blob, filename: string}>}
   */
  async exportBoard(session, format, bearer, seq = 0) {
    const path = `/sessions/${encodeURIComponent(session)}/export.${format}${seq > 0 ? `?seq=${seq}` : ""}`;
    /** @type {Response} */
    const response = await this.request("GET", path, {
      bearer,
      raw: true,
    });
    const disposition = response.headers.get("Content-Disposition") ?? "";
    const filename = /filename="([^"]+)"/.exec(disposition)?.[1] ?? `${session}.${format}`;
    return { blob: await response.blob(), filename };
  }

  /**
   * Add a JSON export's strokes to the board.
   * @param {string} session
   * @param {unknown} exported
   * @param {string | null} bearer
   * @returns {Promise<{imported: number, seq: number}>}
   */
  importBoard(session, exported, bearer) {
    return this.request("POST", `/sessions/${encodeURIComponent(session)}/import`, { body: exported, bearer });
  }

  /**
   * Upload a picture for the board: the service checks it by decoding it, strips its metadata and
   * re-encodes it (docs/api.md, Images); its answer names it by its SHA-256.
   * @param {string} session
   * @param {Blob} file
   * @param {string | null} bearer
   * @returns {Promise<StoredImage>}
   */
  async uploadImage(session, file, bearer) {
    /** @type {Record<string, string>} */
    const headers = { Accept: "application/json", "Content-Type": "application/octet-stream" };
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    /** @type {Response} */
    let response;
    try {
      response = await this.fetch(`${this.base}/sessions/${encodeURIComponent(session)}/images`, {
        method: "POST",
        headers,
        body: file,
        credentials: "same-origin",
      });
    } catch (error) {
      throw new ApiError(0, `the drawing service did not answer (${String(error)})`);
    }
    if (!response.ok) throw new ApiError(response.status, await problem(response));
    return response.json();
  }

  /**
   * Delete a session (the owner: it is archived, and everyone in it is closed).
   * @param {string} session
   */
  deleteSession(session) {
    return this.request("DELETE", `/sessions/${encodeURIComponent(session)}`);
  }

  /**
   * The session's share links (the owner; without their codes).
   * @param {string} session
   * @returns {Promise<ShareLink[]>}
   */
  listLinks(session) {
    return this.request("GET", `/sessions/${encodeURIComponent(session)}/links?limit=100`);
  }

  /**
   * Revoke a share link: the tokens minted on it stop working at once.
   * @param {string} session
   * @param {string} id
   */
  revokeLink(session, id) {
    return this.request("DELETE", `/sessions/${encodeURIComponent(session)}/links/${encodeURIComponent(id)}`);
  }

  /**
   * A page of the board's history: its ops after `after`, with who committed each and when.
   * @param {string} session
   * @param {number} after
   * @param {string | null} bearer
   * @returns {Promise<{ops: {seq: number, by: string, ts: number, op: import("./protocol.js").Op}[], authors: Record<string, string>, next: number | null}>}
   */
  history(session, after, bearer) {
    return this.request("GET", `/sessions/${encodeURIComponent(session)}/history?after=${after}`, { bearer });
  }

  /**
   * Restore as a copy: a new board of mine (the login cookie) holding this one as it was at `seq`.
   * @param {string} session
   * @param {number} seq
   * @returns {Promise<{session: Session, seq: number, items: number}>}
   */
  copyBoard(session, seq) {
    return this.request("POST", `/sessions/${encodeURIComponent(session)}/copies`, { body: { seq } });
  }

  /**
   * A stored picture of the board (cached by the browser for good: its URL names its content).
   * @param {string} session
   * @param {string} digest
   * @param {string | null} bearer
   * @returns {Promise<Blob>}
   */
  async image(session, digest, bearer) {
    /** @type {Response} */
    const response = await this.request("GET", `/sessions/${encodeURIComponent(session)}/images/${digest}`, { bearer, raw: true });
    return response.blob();
  }
}

/** @typedef {{image: string, url: string, media_type: string, width: number, height: number, bytes: number, stored: boolean}} StoredImage */

/**
 * What a refusal says, for people: the problem details' `detail`, else the status.
 * @param {Response} response
 */
async function problem(response) {
  try {
    const body = await response.json();
    if (body && typeof body.detail === "string" && body.detail) return body.detail;
    if (body && typeof body.title === "string" && body.title) return body.title;
  } catch {
    // Not JSON.
  }
  return `${response.status} ${response.statusText}`.trim();
}
