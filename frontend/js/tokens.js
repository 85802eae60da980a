// Join tokens for one session: fetched from the drawing service before the room is joined, kept for the
// tab (so a reload stays the same person, with the same undo history), renewed before they expire and
// whenever the room refuses one. No DOM: the API and the storage are passed in.

import { ApiError } from "./api.js";
import { TokenUnavailable } from "./connection.js";

/** @typedef {import("./api.js").Api} Api */
/** @typedef {import("./api.js").JoinToken} JoinToken */
/** @typedef {import("./outbox.js").StorageLike} StorageLike */

/** A token with less than this left (seconds) is renewed before it is used... */
export const RENEW_BEFORE_SECONDS = 120;
/** ...or with less than this share of its life left (tokens live minutes: `join_token_ttl_seconds`). */
export const RENEW_AT_FRACTION = 1 / 3;
/** A background renewal the service could not answer is tried again after this long (ms). */
export const RENEW_RETRY_MS = 5_000;

/**
 * Seconds before its expiry at which a token is renewed.
 * @param {JoinToken & {received_at?: number}} token
 */
export function renewalMargin(token) {
  const life = token.received_at ? token.expires_at - token.received_at : Infinity;
  return Math.min(RENEW_BEFORE_SECONDS, life * RENEW_AT_FRACTION);
}

/**
 * @param {string} namespace
 * @param {string} session
 */
export function tokenKey(namespace, session) {
  return `drawnet.token.${namespace}.${session}`;
}

export class JoinTokens {
  /** @type {(JoinToken & {received_at?: number}) | null} */
  current = null;
  /** @type {ReturnType<typeof setTimeout> | null} */
  #renewal = null;
  /** @type {Promise<string> | null} the fetch under way, which every caller meanwhile waits for */
  #fetching = null;

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
    if (kept && !refresh && kept.expires_at - this.now() > renewalMargin(kept)) return kept.token;
    // One fetch at a time: two at once would be two guests (each given its own identity).
    this.#fetching ??= this.#fetchAndKeep(kept).finally(() => {
      this.#fetching = null;
    });
    return this.#fetching;
  }

  /**
   * @param {JoinToken | null} kept
   * @returns {Promise<string>}
   */
  async #fetchAndKeep(kept) {
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

  /**
   * Renew the token in the background before it runs out, and hand each new one to `onToken` (which
   * gives it to the open connection: no reconnect). A renewal needs the authority the token was minted
   * on; once refused (a revoked link, a kick, a board made private) it stops: the room closes the
   * connection and says why.
   * @param {(token: string) => void} onToken
   */
  keepFresh(onToken) {
    this.stopRenewing();
    const schedule = (/** @type {number} */ ms) => {
      this.#renewal = setTimeout(run, Math.max(0, ms));
    };
    const run = async () => {
      const kept = this.current;
      if (!kept) {
        schedule(RENEW_RETRY_MS);
        return;
      }
      try {
        const renewed = await this.api.join(this.session, { name: this.name(), bearer: kept.token });
        if (renewed.sub !== kept.sub) return;
        this.#save(renewed);
        onToken(renewed.token);
      } catch (error) {
        if (error instanceof ApiError && !error.retryable) return;
        schedule(RENEW_RETRY_MS);
        return;
      }
      schedule(this.#untilRenewal());
    };
    schedule(this.#untilRenewal());
  }

  stopRenewing() {
    if (this.#renewal !== null) clearTimeout(this.#renewal);
    this.#renewal = null;
  }

  /** Milliseconds until the kept token is due for renewal. */
  #untilRenewal() {
    const kept = this.current;
    if (!kept) return RENEW_RETRY_MS;
    return (kept.expires_at - renewalMargin(kept) - this.now()) * 1000;
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
    this.current = { ...token, received_at: this.now() };
    try {
      this.storage?.setItem(this.key, JSON.stringify(token));
    } catch {
      // Storage full or disabled: kept in memory for this page.
    }
  }
}
