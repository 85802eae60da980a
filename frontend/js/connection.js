// The connection to a session's room: one WebSocket at a time, the hello/welcome handshake, reconnects with
// exponential backoff, and the outbox of durable ops resent (same op id) after every welcome.
// No DOM: the WebSocket constructor and the timers can be injected, so Node tests can drive it.

import {
  CloseCode,
  DecodeError,
  NackCode,
  ServerKind,
  decodeServer,
  describeClose,
  encode,
  renew,
  shouldAutoReconnect,
  submit,
} from "./protocol.js";

/** @typedef {import("./protocol.js").Hello} Hello */
/** @typedef {import("./protocol.js").Welcome} Welcome */
/** @typedef {import("./protocol.js").ServerMessage} ServerMessage */
/** @typedef {import("./protocol.js").ClientMessage} ClientMessage */
/** @typedef {import("./protocol.js").Begin} Begin */
/** @typedef {import("./protocol.js").Points} Points */
/** @typedef {import("./protocol.js").Awareness} Awareness */
/** @typedef {import("./protocol.js").Op} Op */
/** @typedef {import("./outbox.js").Outbox} Outbox */

/** @typedef {"connecting" | "live" | "offline"} ConnectionState */

/**
 * @typedef {Object} ConnectionStatus
 * @property {ConnectionState} state
 * @property {number} [code] the close code, when offline
 * @property {string} [reason] why it is offline, for people
 * @property {boolean} willRetry whether a reconnect is scheduled (else the user decides)
 * @property {number} [retryInMs] when it is scheduled
 */

/**
 * The subset of the browser's WebSocket the connection uses.
 * @typedef {Object} SocketLike
 * @property {number} readyState
 * @property {((event: any) => void) | null} onopen
 * @property {((event: {data: unknown}) => void) | null} onmessage
 * @property {((event: {code: number, reason: string}) => void) | null} onclose
 * @property {((event: any) => void) | null} onerror
 * @property {(data: string) => void} send
 * @property {(code?: number, reason?: string) => void} close
 */

/** @typedef {new (url: string) => SocketLike} SocketFactory */

/**
 * @typedef {Object} Timers
 * @property {(callback: () => void, ms: number) => unknown} setTimeout
 * @property {(handle: any) => void} clearTimeout
 */

/**
 * A join token for the room, from the drawing service. `refresh`: the last one was refused (expired or
 * revoked), get a new one. Rejects with a TokenUnavailable (`retry` false: the user must act).
 * @typedef {(options: {refresh: boolean}) => Promise<string>} TokenSource
 */

/**
 * @typedef {Object} ConnectionOptions
 * @property {string | (() => string)} url the session's room URL, or where to read it before each connect
 *   (the URL the platform gives with each join token: the session's route on Kubernetes)
 * @property {(token: string | undefined) => Hello} hello builds the hello for each new socket (`since` = the board's seq then)
 * @property {TokenSource} [token] where join tokens come from (none: tokenless, for rooms that allow it)
 * @property {Outbox} outbox
 * @property {(opId: string) => boolean} isCommitted whether the board already holds an op (no resend then)
 * @property {(welcome: Welcome) => void} onWelcome
 * @property {(message: ServerMessage) => void} onMessage every later message, ack and nack included
 * @property {(status: ConnectionStatus) => void} onStatus
 * @property {SocketFactory} [WebSocket]
 * @property {Timers} [timers]
 * @property {() => number} [random] for the backoff's jitter
 * @property {() => number} [now] milliseconds, for how long a connection stayed live
 */

const OPEN = 1;

/** Why no join token could be had; `retry`: whether trying again later may help (the service was down). */
export class TokenUnavailable extends Error {
  /** @override */
  name = "TokenUnavailable";
  /**
   * @param {string} message
   * @param {boolean} retry
   */
  constructor(message, retry) {
    super(message);
    this.retry = retry;
  }
}

/** How long (ms) a rate-limited op waits before it is sent again. */
export const RATE_LIMITED_RETRY_MS = 1_000;

/** A connection live at least this long (ms) resets the backoff: the next drop retries quickly again. */
export const STABLE_AFTER_MS = 10_000;

/** Backoff base and cap, in milliseconds. */
export const BACKOFF_BASE_MS = 500;
export const BACKOFF_MAX_MS = 30_000;

/**
 * Exponential backoff with jitter: attempt 0 waits 250-500 ms, each next one twice as long, up to 15-30 s.
 * @param {number} attempt failed attempts so far
 * @param {() => number} [random]
 */
export function backoffDelay(attempt, random = Math.random) {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling * (0.5 + 0.5 * random()));
}

export class Connection {
  /** @type {ConnectionOptions} */
  #options;
  /** @type {SocketLike | null} */
  #socket = null;
  #welcomed = false;
  #stopped = false;
  #attempt = 0;
  /** @type {number | null} when the current socket got its welcome */
  #liveSince = null;
  /** @type {unknown} */
  #timer = null;
  /** @type {SocketFactory} */
  #WebSocket;
  /** @type {Timers} */
  #timers;
  /** Counts opening attempts: an answer for an older one (a late token) is ignored. */
  #opening = 0;
  /** Whether the current socket's token was freshly fetched after a refusal (a second 4003 is final). */
  #freshToken = false;
  /** @type {ConnectionStatus} */
  status = { state: "offline", willRetry: false };
  /** How many welcomes so far: a live stroke announced under one generation is unknown to the next. */
  generation = 0;

  /** @param {ConnectionOptions} options */
  constructor(options) {
    this.#options = options;
    this.#WebSocket = options.WebSocket ?? /** @type {SocketFactory} */ (/** @type {unknown} */ (globalThis.WebSocket));
    this.#timers = options.timers ?? {
      setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
      clearTimeout: (handle) => globalThis.clearTimeout(handle),
    };
  }

  /** Whether the welcome arrived on the current socket: live messages and ops go out now. */
  get live() {
    return this.#welcomed && this.#socket !== null && this.#socket.readyState === OPEN;
  }

  /** Open the first socket. */
  start() {
    this.#stopped = false;
    this.#open();
  }

  /** Connect now: after a close the user chose to retry, or when the browser is back online. */
  reconnect() {
    this.#stopped = false;
    this.#attempt = 0;
    this.#dropSocket();
    this.#open();
  }

  /** Close for good (leaving the page or the session). */
  stop() {
    this.#stopped = true;
    this.#cancelTimer();
    this.#dropSocket();
    this.#setStatus({ state: "offline", willRetry: false, reason: "disconnected" });
  }

  /**
   * Send a live (ephemeral) message; dropped when not live: nobody needs stale previews.
   * @param {Begin | Points | import("./protocol.js").Drag | import("./protocol.js").Sketch | import("./protocol.js").Laser | Awareness} message
   * @returns {boolean} whether it went out
   */
  sendLive(message) {
    if (!this.live) return false;
    this.#send(message);
    return true;
  }

  /**
   * Hand the room a fresh join token on the open socket (in-band renewal: no reconnect). When not live,
   * nothing to do: the next connect fetches its own token.
   * @param {string} token
   * @returns {boolean} whether it went out
   */
  renewToken(token) {
    if (!this.live) return false;
    this.#send(renew(token));
    return true;
  }

  /**
   * Submit a durable op: into the outbox first, then on the wire if live (else after the next welcome).
   * @param {Op} op
   */
  submit(op) {
    this.#options.outbox.add(op);
    if (this.live && this.#options.outbox.noteSend(op.id)) this.#send(submit(op));
  }

  /** @param {boolean} [refresh] the last token was refused: ask for a new one */
  #open(refresh = false) {
    this.#cancelTimer();
    this.#welcomed = false;
    this.#setStatus({ state: "connecting", willRetry: false });
    const attempt = ++this.#opening;
    const source = this.#options.token;
    if (!source) {
      this.#connect(undefined);
      return;
    }
    source({ refresh }).then(
      (token) => {
        if (attempt !== this.#opening || this.#stopped) return;
        this.#freshToken = refresh;
        this.#connect(token);
      },
      (error) => {
        if (attempt !== this.#opening || this.#stopped) return;
        const reason = error instanceof Error ? error.message : String(error);
        if (error instanceof TokenUnavailable && !error.retry) {
          this.#setStatus({ state: "offline", code: CloseCode.FORBIDDEN, reason, willRetry: false });
        } else {
          this.#retryLater(CloseCode.TRY_AGAIN_LATER, reason);
        }
      },
    );
  }

  /** @param {string | undefined} token */
  #connect(token) {
    /** @type {SocketLike} */
    let socket;
    try {
      const { url } = this.#options;
      socket = new this.#WebSocket(typeof url === "function" ? url() : url);
    } catch (error) {
      this.#setStatus({ state: "offline", willRetry: false, reason: `cannot connect: ${String(error)}` });
      return;
    }
    this.#socket = socket;
    socket.onopen = () => {
      if (this.#socket === socket) this.#send(this.#options.hello(token));
    };
    socket.onmessage = (event) => {
      if (this.#socket === socket && typeof event.data === "string") this.#onFrame(event.data);
    };
    socket.onclose = (event) => {
      if (this.#socket === socket) this.#onClose(event.code, event.reason);
    };
    socket.onerror = () => {
      // A close event always follows; it carries what there is to know.
    };
  }

  /** @param {string} frame */
  #onFrame(frame) {
    /** @type {ServerMessage} */
    let message;
    try {
      message = decodeServer(frame);
    } catch (error) {
      if (error instanceof DecodeError) {
        console.warn("drawnet: ignoring a frame from the room:", error.message);
        return;
      }
      throw error;
    }
    const outbox = this.#options.outbox;
    if (!this.#welcomed) {
      if (message.t !== ServerKind.WELCOME) return;
      const socket = this.#socket;
      this.#welcomed = true;
      this.#freshToken = false;
      this.#liveSince = this.#now();
      this.generation += 1;
      this.#options.onWelcome(message);
      if (this.#socket !== socket) return; // the welcome handler asked for another connection
      this.#setStatus({ state: "live", willRetry: false });
      this.#flushOutbox();
      return;
    }
    switch (message.t) {
      case ServerKind.ACK:
        outbox.remove(message.id);
        break;
      case ServerKind.NACK:
        if (message.code === NackCode.RATE_LIMITED) {
          // Not refused: the same op goes out again a little later.
          this.#resendLater(message.id);
          return;
        }
        // Draining: the room closes soon, and the op goes out again after the next welcome.
        if (message.code === NackCode.DRAINING) return;
        outbox.remove(message.id);
        break;
      case ServerKind.OP:
        // Our own op committed: its ack may still be on its way (or lost with a connection).
        outbox.remove(message.op.id);
        break;
    }
    this.#options.onMessage(message);
  }

  /** After a welcome: send every op still waiting, unless the welcome showed it committed already. */
  #flushOutbox() {
    const outbox = this.#options.outbox;
    for (const op of outbox.ops) {
      if (this.#options.isCommitted(op.id)) {
        outbox.remove(op.id);
      } else if (outbox.noteSend(op.id)) {
        this.#send(submit(op));
      } else {
        this.#options.onMessage({
          t: ServerKind.NACK,
          id: op.id,
          code: "unsent",
          reason: "a stroke could not be delivered and was dropped",
        });
      }
    }
  }

  /**
   * @param {number} code
   * @param {string} reason
   */
  #onClose(code, reason) {
    this.#socket = null;
    this.#welcomed = false;
    // A connection that was live for a while resets the backoff; one that drops right after its welcome
    // (a room that keeps closing it) does not, so such a loop slows down.
    if (this.#liveSince !== null && this.#now() - this.#liveSince >= STABLE_AFTER_MS) this.#attempt = 0;
    this.#liveSince = null;
    if (this.#stopped) return;
    const why = describeClose(code, reason);
    const stale = code === CloseCode.FORBIDDEN || code === CloseCode.TOKEN_EXPIRED;
    if (stale && this.#options.token && !this.#freshToken) {
      // The token expired (unrenewed) or was refused since it was fetched: one new one, at once.
      this.#open(true);
      return;
    }
    if (!shouldAutoReconnect(code)) {
      this.#setStatus({ state: "offline", code, reason: why, willRetry: false });
      return;
    }
    this.#retryLater(code, why);
  }

  /**
   * @param {number} code
   * @param {string} why
   */
  #retryLater(code, why) {
    const delay = backoffDelay(this.#attempt, this.#options.random);
    this.#attempt += 1;
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = null;
      this.#open();
    }, delay);
    this.#setStatus({ state: "offline", code, reason: why, willRetry: true, retryInMs: delay });
  }

  /** @param {string} opId */
  #resendLater(opId) {
    this.#timers.setTimeout(() => {
      const op = this.#options.outbox.ops.find((pending) => pending.id === opId);
      if (op && this.live && this.#options.outbox.noteSend(op.id)) this.#send(submit(op));
    }, RATE_LIMITED_RETRY_MS);
  }

  /** @param {ClientMessage} message */
  #send(message) {
    const socket = this.#socket;
    if (socket && socket.readyState === OPEN) socket.send(encode(message));
  }

  #dropSocket() {
    const socket = this.#socket;
    this.#socket = null;
    this.#welcomed = false;
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
      try {
        socket.close(CloseCode.NORMAL, "client closed");
      } catch {
        // Already closing.
      }
    }
  }

  #now() {
    return (this.#options.now ?? Date.now)();
  }

  #cancelTimer() {
    if (this.#timer !== null) this.#timers.clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** @param {ConnectionStatus} status */
  #setStatus(status) {
    this.status = status;
    this.#options.onStatus(status);
  }
}
