// Join tokens for one session: fetched from the drawing service before the room is joined, kept for the
// tab (so a reload stays the same person, with the same undo history), renewed before they expire and
// whenever the room refuses one. No DOM: the API and the storage are passed in.

import { ApiError } from "./api.js";
import { TokenUnavailable } from "./connection.js";

/** @typedef {import("./api.js").Api} Api */
/** @typedef {import("./api.js").JoinToken} JoinToken */
/** @typedef {import("./outbox.js").StorageLike} StorageLike */

/** A token with less than this left (seconds) is renewed before it is used. */
export const RENEW_BEFORE_SECONDS = 120;

/**
 * @param {string} namespace
 * @param {string} session
 */
export function tokenKey(namespace, session) {
  return `drawnet.token.${namespace}.${session}`;
}

export class JoinTokens {
  /** @type {JoinToken | null} */
  current = null;

  /**
   * @param {Object} options
   * @param {Pick<Api, "join">} options.api
   * @param {string} options.session
   * @param {string} options.namespace
   * @param {StorageLike | null} options.storage sessionStorage: one person per tab
   * @param {() => string} options.name the display name to join with
   * @param {string | null} [options.link] a share link's code, when the page was opened from one
   * @param {() => number} [options.now] unix seconds
   */
  constructor({ api, session, namespace, storage, name, link = null, now }) {
    this.api = api;
    this.session = session;
    this.storage = storage;
    this.key = tokenKey(namespace, session);
    this.name = name;
    this.link = link;
    this.now = now ?? (() => Date.now() / 1000);
    this.current = this.#load();
  }

  /**
   * A token to join with: the kept one while it has time left, else a new one. `refresh`: the room refused
   * the last one (expired, revoked, or for a stale role), so a new one in any case.
   * @param {{refresh: boolean}} options
   * @returns {Promise<string>}
   */
  async get({ refresh }) {
    const kept = this.current;
    if (kept && !refresh && kept.expires_at - this.now() > RENEW_BEFORE_SECONDS) return kept.token;
    try {
      const fresh = await this.#fetch(kept);
      this.#save(fresh);
      return fresh.token;
    } catch (error) {
      if (error instanceof ApiError) throw new TokenUnavailable(error.message, error.retryable);
      throw error;
    }
  }

  /**
   * Renew as the same person when the kept token still proves who we are; otherwise join afresh (logged
   * in, by the share link, or as a guest with a name).
   * @param {JoinToken | null} kept
   */
  async #fetch(kept) {
    if (kept && kept.expires_at - this.now() > 5) {
      try {
        const renewed = await this.api.join(this.session, { name: this.name(), bearer: kept.token });
        if (renewed.sub === kept.sub) return renewed;
      } catch (error) {
        if (!(error instanceof ApiError) || error.retryable) throw error;
        // Refused (the service does not renew this way): join afresh below.
      }
    }
    return this.api.join(this.session, { name: this.name() || "Guest", link: this.link });
  }

  /** Forget the kept token (after signing in or out: the next one is for the new person). */
  forget() {
    this.current = null;
    try {
      this.storage?.removeItem(this.key);
    } catch {
      // Storage disabled.
    }
  }

  /** @returns {JoinToken | null} */
  #load() {
    try {
      const raw = JSON.parse(this.storage?.getItem(this.key) ?? "null");
      if (raw && typeof raw.token === "string" && typeof raw.expires_at === "number" && typeof raw.sub === "string") {
        return raw.expires_at > this.now() ? raw : null;
      }
    } catch {
      // Damaged: fetch a new one.
    }
    return null;
  }

  /** @param {JoinToken} token */
  #save(token) {
    this.current = token;
    try {
      this.storage?.setItem(this.key, JSON.stringify(token));
    } catch {
      // Storage full or disabled: kept in memory for this page.
    }
  }
}
