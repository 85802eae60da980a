import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";

import {
  BACKOFF_MAX_MS,
  Connection,
  RATE_LIMITED_RETRY_MS,
  STABLE_AFTER_MS,
  TokenUnavailable,
  backoffDelay,
} from "../../frontend/js/connection.js";
import { Outbox } from "../../frontend/js/outbox.js";
import { hello } from "../../frontend/js/protocol.js";
import { FakeSocket, ManualTimers, MemoryStorage, committedStroke, welcome } from "./helpers.mjs";

const stroke = (id) => ({ kind: "stroke", id, tool: "pen", color: "#000000", width: 4, opacity: 1, pts: [[0, 0, 0.5]] });

/** A connection wired to fakes, with everything it reports collected. */
function setup({ storage = new MemoryStorage(), committed = new Set(), clock = { now: 0 } } = {}) {
  const outbox = new Outbox(storage, "drawnet.outbox.default.s");
  const timers = new ManualTimers();
  const seen = { welcomes: [], messages: [], statuses: [] };
  let since = 0;
  const connection = new Connection({
    url: "ws://room/rooms/s",
    hello: () => hello({ client: "c1", name: "Ada", color: "#000000", since }),
    outbox,
    isCommitted: (id) => committed.has(id),
    onWelcome: (message) => {
      seen.welcomes.push(message);
      for (const op of message.ops) committed.add(op.op.id);
    },
    onMessage: (message) => seen.messages.push(message),
    onStatus: (status) => seen.statuses.push(status),
    WebSocket: FakeSocket,
    timers,
    random: () => 1,
    now: () => clock.now,
  });
  return { connection, outbox, timers, seen, committed, setSince: (value) => (since = value), clock };
}

/** Open the socket and play the welcome. */
function goLive(socket, options) {
  socket.open();
  socket.receive(welcome(options));
}

beforeEach(() => FakeSocket.reset());

describe("backoffDelay", () => {
  it("doubles up to the cap, with jitter between half and all of it", () => {
    assert.equal(backoffDelay(0, () => 1), 500);
    assert.equal(backoffDelay(1, () => 1), 1000);
    assert.equal(backoffDelay(3, () => 0), 2000);
    assert.equal(backoffDelay(50, () => 1), BACKOFF_MAX_MS);
  });
});

describe("Connection", () => {
  it("says hello first, with since, and is live after the welcome", () => {
    const { connection, seen, setSince } = setup();
    setSince(12);
    connection.start();
    const socket = FakeSocket.last;
    assert.equal(socket.url, "ws://room/rooms/s");
    assert.equal(seen.statuses.at(-1).state, "connecting");
    socket.open();
    assert.deepEqual(socket.sent, [{ t: "hello", v: 1, client: "c1", name: "Ada", color: "#000000", since: 12 }]);
    assert.equal(connection.live, false);
    socket.receive(welcome({ seq: 12 }));
    assert.equal(connection.live, true);
    assert.equal(seen.welcomes.length, 1);
    assert.equal(seen.statuses.at(-1).state, "live");
    assert.equal(connection.generation, 1);
  });

  it("drops live messages while not live, sends them when live", () => {
    const { connection } = setup();
    connection.start();
    const socket = FakeSocket.last;
    const points = { t: "points", stroke: "s", pts: [[1, 1, 0.5]] };
    assert.equal(connection.sendLive(points), false);
    goLive(socket);
    assert.equal(connection.sendLive(points), true);
    assert.deepEqual(socket.sent.at(-1), points);
  });

  it("keeps an op in the outbox until its ack", () => {
    const { connection, outbox, seen } = setup();
    connection.start();
    const socket = FakeSocket.last;
    goLive(socket);
    connection.submit(stroke("s1"));
    assert.deepEqual(socket.sent.at(-1), { t: "op", op: stroke("s1") });
    assert.ok(outbox.has("s1"));
    socket.receive({ t: "ack", id: "s1", seq: 3 });
    assert.equal(outbox.has("s1"), false);
    assert.equal(seen.messages.at(-1).t, "ack");
  });

  it("removes an op on nack and passes the nack on", () => {
    const { connection, outbox, seen } = setup();
    connection.start();
    goLive(FakeSocket.last);
    connection.submit(stroke("s1"));
    FakeSocket.last.receive({ t: "nack", id: "s1", code: "max_width", reason: "width 300 exceeds max_width 200" });
    assert.equal(outbox.size, 0);
    assert.equal(seen.messages.at(-1).reason, "width 300 exceeds max_width 200");
  });

  it("removes an op seen committed even before its ack", () => {
    const { connection, outbox } = setup();
    connection.start();
    goLive(FakeSocket.last);
    connection.submit(stroke("s1"));
    FakeSocket.last.receive(committedStroke(5, "s1", "me"));
    assert.equal(outbox.size, 0);
  });

  it("resends un-acked ops with the same id after a reconnect, with backoff", () => {
    const { connection, outbox, timers, seen } = setup();
    connection.start();
    const first = FakeSocket.last;
    goLive(first);
    connection.submit(stroke("s1"));
    connection.submit(stroke("s2"));
    first.receive({ t: "ack", id: "s1", seq: 1 });
    first.drop(1006, "");
    const status = seen.statuses.at(-1);
    assert.equal(status.state, "offline");
    assert.equal(status.willRetry, true);
    assert.equal(status.retryInMs, 500);
    assert.equal(FakeSocket.all.length, 1);
    timers.runAll();
    const second = FakeSocket.last;
    assert.notEqual(second, first);
    second.open();
    assert.equal(second.sent.length, 1); // hello only: ops wait for the welcome
    second.receive(welcome({ seq: 1 }));
    assert.deepEqual(second.sent.slice(1), [{ t: "op", op: stroke("s2") }]);
    assert.deepEqual(outbox.ops.map((op) => op.id), ["s2"]);
  });

  it("sends ops submitted while offline after the next welcome", () => {
    const { connection } = setup();
    connection.start();
    connection.submit(stroke("s1"));
    const socket = FakeSocket.last;
    goLive(socket);
    assert.deepEqual(socket.sent.at(-1), { t: "op", op: stroke("s1") });
  });

  it("resends the outbox of a previous page load, except what the welcome already holds", () => {
    const storage = new MemoryStorage();
    const before = new Outbox(storage, "drawnet.outbox.default.s");
    before.add(stroke("old1"));
    before.add(stroke("old2"));
    const { connection, outbox } = setup({ storage });
    connection.start();
    const socket = FakeSocket.last;
    goLive(socket, { seq: 8, ops: [committedStroke(8, "old1")] });
    assert.deepEqual(
      socket.sent.filter((m) => m.t === "op").map((m) => m.op.id),
      ["old2"],
    );
    assert.deepEqual(outbox.ops.map((op) => op.id), ["old2"]);
  });

  it("does not resend what a welcome's snapshot holds", () => {
    const storage = new MemoryStorage();
    new Outbox(storage, "drawnet.outbox.default.s").add(stroke("old1"));
    const committed = new Set();
    const { connection, outbox } = setup({ storage, committed });
    connection.start();
    const socket = FakeSocket.last;
    socket.open();
    committed.add("old1"); // what the app's board says once it loaded the snapshot
    const snapshot = { seq: 8, strokes: [{ stroke: stroke("old1"), seq: 8, by: "u" }], effects: [], undo: {}, redo: {} };
    socket.receive(welcome({ seq: 8, snapshot }));
    assert.equal(socket.sent.filter((m) => m.t === "op").length, 0);
    assert.equal(outbox.size, 0);
  });

  it("backs off more after each failed attempt, up to the cap", () => {
    const { connection, timers, seen } = setup();
    connection.start();
    for (let i = 0; i < 12; i += 1) {
      FakeSocket.last.drop(1006);
      timers.runAll();
    }
    const delays = seen.statuses.filter((s) => s.state === "offline").map((s) => s.retryInMs);
    assert.deepEqual(delays.slice(0, 5), [500, 1000, 2000, 4000, 8000]);
    assert.equal(Math.max(...delays), BACKOFF_MAX_MS);
  });

  it("resets the backoff only after a connection stayed live a while", () => {
    const { connection, timers, seen, clock } = setup();
    connection.start();
    FakeSocket.last.drop(1006);
    timers.runAll();
    goLive(FakeSocket.last);
    FakeSocket.last.drop(1011); // right after the welcome: keeps backing off
    assert.equal(seen.statuses.at(-1).retryInMs, 1000);
    timers.runAll();
    goLive(FakeSocket.last);
    clock.now += STABLE_AFTER_MS;
    FakeSocket.last.drop(1001);
    assert.equal(seen.statuses.at(-1).retryInMs, 500);
  });

  it("does not reconnect by itself after a close the client caused, and shows the reason", () => {
    for (const code of [4000, 4004, 4005, 4009]) {
      const { connection, timers, seen } = setup();
      connection.start();
      FakeSocket.last.drop(code, `reason ${code}`);
      assert.deepEqual(seen.statuses.at(-1), {
        state: "offline",
        code,
        reason: `reason ${code}`,
        willRetry: false,
      });
      assert.equal(timers.pending.size, 0);
      const count = FakeSocket.all.length;
      connection.reconnect();
      assert.equal(FakeSocket.all.length, count + 1);
    }
  });

  it("reconnect() replaces a waiting retry and closes the old socket", () => {
    const { connection, timers } = setup();
    connection.start();
    const first = FakeSocket.last;
    first.open();
    connection.reconnect();
    assert.equal(first.closedWith.code, 1000);
    assert.equal(FakeSocket.all.length, 2);
    FakeSocket.last.drop(1006);
    connection.reconnect();
    assert.equal(timers.pending.size, 0);
    assert.equal(FakeSocket.all.length, 3);
  });

  it("stays quiet after stop()", () => {
    const { connection, timers } = setup();
    connection.start();
    const socket = FakeSocket.last;
    goLive(socket);
    connection.stop();
    assert.equal(socket.closedWith.code, 1000);
    assert.equal(connection.live, false);
    assert.equal(timers.pending.size, 0);
  });

  it("ignores frames it cannot decode and messages before the welcome", () => {
    const { connection, seen } = setup();
    connection.start();
    const socket = FakeSocket.last;
    socket.open();
    socket.receive({ t: "ack", id: "x", seq: 1 });
    assert.equal(connection.live, false);
    socket.receive(welcome());
    socket.receive("{broken");
    socket.receive({ t: "mystery" });
    socket.receive({ t: "left", id: "p2" });
    assert.deepEqual(seen.messages, [{ t: "left", id: "p2" }]);
  });

  it("lets the welcome handler ask for a new connection", () => {
    const timers = new ManualTimers();
    let connection;
    const outbox = new Outbox(null, "k");
    outbox.add(stroke("s1"));
    connection = new Connection({
      url: "ws://room/rooms/s",
      hello: () => hello({ client: "c1", name: "", color: "#000000", since: 0 }),
      outbox,
      isCommitted: () => false,
      onWelcome: () => {
        if (FakeSocket.all.length === 1) connection.reconnect();
      },
      onMessage: () => {},
      onStatus: () => {},
      WebSocket: FakeSocket,
      timers,
    });
    connection.start();
    const first = FakeSocket.last;
    goLive(first);
    assert.equal(FakeSocket.all.length, 2);
    assert.equal(first.sent.length, 1); // hello; the op waits for the new connection's welcome
    goLive(FakeSocket.last);
    assert.deepEqual(FakeSocket.last.sent.at(-1), { t: "op", op: stroke("s1") });
  });
});

/** Let pending promise callbacks run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A connection whose join tokens come from a scripted source. */
function withTokens(answers) {
  const asked = [];
  const timers = new ManualTimers();
  const seen = { statuses: [] };
  const connection = new Connection({
    url: "ws://room/rooms/s",
    token: async ({ refresh }) => {
      asked.push(refresh);
      const answer = answers.shift();
      if (answer instanceof Error) throw answer;
      return answer;
    },
    hello: (token) => hello({ client: "c1", name: "Ada", color: "#000000", since: 0, token }),
    outbox: new Outbox(null, "k"),
    isCommitted: () => false,
    onWelcome: () => {},
    onMessage: () => {},
    onStatus: (status) => seen.statuses.push(status),
    WebSocket: FakeSocket,
    timers,
    random: () => 1,
  });
  return { connection, asked, timers, seen };
}

describe("Connection with join tokens", () => {
  it("opens the room URL the platform gave with the token it just fetched", async () => {
    const given = [];
    const connection = new Connection({
      url: () => given.at(-1),
      token: async () => {
        given.push(`wss://draw.example/rooms/team-a/s?n=${given.length + 1}`);
        return `t${given.length}`;
      },
      hello: (token) => hello({ client: "c1", name: "Ada", color: "#000000", since: 0, token }),
      outbox: new Outbox(null, "k"),
      isCommitted: () => false,
      onWelcome: () => {},
      onMessage: () => {},
      onStatus: () => {},
      WebSocket: FakeSocket,
      timers: new ManualTimers(),
      random: () => 1,
    });
    connection.start();
    await settle();
    assert.equal(FakeSocket.last.url, "wss://draw.example/rooms/team-a/s?n=1");
    connection.reconnect();
    await settle();
    assert.equal(FakeSocket.last.url, "wss://draw.example/rooms/team-a/s?n=2");
  });

  it("gets a token before it opens a socket, and says hello with it", async () => {
    const { connection, asked } = withTokens(["t1"]);
    connection.start();
    assert.equal(FakeSocket.all.length, 0);
    await settle();
    FakeSocket.last.open();
    assert.equal(FakeSocket.last.sent[0].token, "t1");
    assert.deepEqual(asked, [false]);
  });

  it("fetches a new token once when the room refuses one (4003), then gives up", async () => {
    const { connection, asked, seen, timers } = withTokens(["old", "new"]);
    connection.start();
    await settle();
    FakeSocket.last.open();
    FakeSocket.last.drop(4003, "join token expired");
    await settle();
    assert.deepEqual(asked, [false, true]);
    FakeSocket.last.open();
    assert.equal(FakeSocket.last.sent[0].token, "new");
    FakeSocket.last.drop(4003, "join token is for session default/x");
    await settle();
    assert.deepEqual(asked, [false, true]);
    assert.deepEqual(seen.statuses.at(-1), {
      state: "offline",
      code: 4003,
      reason: "join token is for session default/x",
      willRetry: false,
    });
    assert.equal(timers.pending.size, 0);
  });

  it("retries later when the drawing service cannot be reached, not when it says no", async () => {
    const down = withTokens([new TokenUnavailable("drawing service unreachable", true), "t"]);
    down.connection.start();
    await settle();
    assert.equal(down.seen.statuses.at(-1).willRetry, true);
    down.timers.runAll();
    await settle();
    assert.equal(FakeSocket.all.length, 1);
    const refused = withTokens([new TokenUnavailable("this board is private", false)]);
    refused.connection.start();
    await settle();
    assert.deepEqual(refused.seen.statuses.at(-1), {
      state: "offline",
      code: 4003,
      reason: "this board is private",
      willRetry: false,
    });
  });
});

describe("Connection and retryable nacks", () => {
  it("keeps a rate-limited op and sends it again later", () => {
    const { connection, outbox, timers, seen } = setup();
    connection.start();
    goLive(FakeSocket.last);
    connection.submit(stroke("s1"));
    FakeSocket.last.receive({ t: "nack", id: "s1", code: "rate_limited", reason: "over ops_rate_per_second 20" });
    assert.ok(outbox.has("s1"));
    assert.equal(seen.messages.length, 0);
    assert.equal(timers.delays.at(-1), RATE_LIMITED_RETRY_MS);
    timers.runAll();
    assert.equal(FakeSocket.last.sent.filter((m) => m.t === "op").length, 2);
  });

  it("keeps an op the draining room refused for the next connection", () => {
    const { connection, outbox } = setup();
    connection.start();
    goLive(FakeSocket.last);
    connection.submit(stroke("s1"));
    FakeSocket.last.receive({ t: "nack", id: "s1", code: "draining", reason: "room is shutting down" });
    assert.ok(outbox.has("s1"));
  });
});
