// Test doubles shared by the frontend tests: an in-memory Storage, a scripted WebSocket, manual timers.

/** The getItem/setItem/removeItem part of Web Storage, in memory. */
export class MemoryStorage {
  constructor() {
    this.items = new Map();
  }
  getItem(key) {
    return this.items.has(key) ? this.items.get(key) : null;
  }
  setItem(key, value) {
    this.items.set(key, String(value));
  }
  removeItem(key) {
    this.items.delete(key);
  }
}

/** A WebSocket whose server side the test plays; every instance is kept in FakeSocket.all. */
export class FakeSocket {
  static all = [];
  static reset() {
    FakeSocket.all = [];
  }
  static get last() {
    return FakeSocket.all.at(-1);
  }

  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    this.closedWith = null;
    this.onopen = this.onmessage = this.onclose = this.onerror = null;
    FakeSocket.all.push(this);
  }
  send(data) {
    if (this.readyState !== 1) throw new Error("InvalidStateError: not open");
    this.sent.push(JSON.parse(data));
  }
  close(code, reason) {
    this.closedWith = { code, reason };
    this.readyState = 3;
  }
  // --- the server's side
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  receive(message) {
    this.onmessage?.({ data: typeof message === "string" ? message : JSON.stringify(message) });
  }
  drop(code, reason = "") {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}

/** setTimeout/clearTimeout that run only when the test says so. */
export class ManualTimers {
  constructor() {
    this.pending = new Map();
    this.nextId = 1;
    this.delays = [];
  }
  setTimeout = (callback, ms) => {
    const id = this.nextId++;
    this.pending.set(id, callback);
    this.delays.push(ms);
    return id;
  };
  clearTimeout = (id) => {
    this.pending.delete(id);
  };
  runAll() {
    const callbacks = [...this.pending.values()];
    this.pending.clear();
    for (const callback of callbacks) callback();
  }
}

/** A committed stroke op as the room sends it. */
export function committedStroke(seq, id, by = "p1") {
  return {
    t: "op",
    seq,
    by,
    op: { kind: "stroke", id, tool: "pen", color: "#112233", width: 4, opacity: 1, pts: [[1, 2, 0.5]] },
  };
}

/** A welcome with the default limits. */
export function welcome({ seq = 0, ops = [], snapshot = null, you = { id: "me", name: "Me", color: "#000000" } } = {}) {
  return { t: "welcome", v: 1, you, participants: [you], seq, snapshot, ops, limits: {} };
}
