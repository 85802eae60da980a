// The modules between the page and the platform: REST calls, join tokens, recent boards, tools.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Api, ApiError } from "../../frontend/js/api.js";
import { clipped, copied, pasteFrom } from "../../frontend/js/clipboard.js";
import { TokenUnavailable } from "../../frontend/js/connection.js";
import { roomDetail } from "../../frontend/js/lobby.js";
import { recentBoards, rememberBoard, timeAgo, MAX_RECENT } from "../../frontend/js/recent.js";
import { JoinTokens, RENEW_BEFORE_SECONDS, tokenKey } from "../../frontend/js/tokens.js";
import { HIGHLIGHTER_OPACITY, shortcut, strokeStyle } from "../../frontend/js/tools.js";
import { MemoryStorage } from "./helpers.mjs";

/** A fetch that answers from a script and records what it was asked. */
function scriptedFetch(answers) {
  const calls = [];
  const fetcher = async (url, init) => {
    calls.push({ url, method: init.method, headers: init.headers, body: init.body ? JSON.parse(init.body) : undefined });
    const answer = answers.shift();
    if (answer instanceof Error) throw answer;
    const { status = 200, body = {} } = answer;
    return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  };
  return { fetcher, calls };
}

const token = (name, sub, expiresAt) => ({
  token: name, role: "editor", session: "s", namespace: "default", sub, name: "Ann", expires_at: expiresAt, room_url: "ws://r/rooms/s",
});

describe("Api", () => {
  it("sends JSON, the bearer, and reads problem details on refusals", async () => {
    const { fetcher, calls } = scriptedFetch([
      { body: token("t", "guest:1", 100) },
      { status: 403, body: { title: "Not allowed", detail: "session 's' is private: ask its owner for a share link" } },
      new TypeError("Failed to fetch"),
    ]);
    const api = new Api("http://x/api/v1", fetcher);
    assert.equal((await api.join("s", { name: "Ann", link: "code", bearer: "old" })).token, "t");
    assert.equal(calls[0].url, "http://x/api/v1/sessions/s/join");
    assert.deepEqual(calls[0].body, { name: "Ann", link: "code" });
    assert.equal(calls[0].headers.Authorization, "Bearer old");
    await assert.rejects(api.join("s", { name: "Ann" }), (error) => {
      assert.ok(error instanceof ApiError);
      assert.equal(error.status, 403);
      assert.match(error.message, /private/);
      assert.equal(error.retryable, false);
      return true;
    });
    await assert.rejects(api.me(), (error) => error instanceof ApiError && error.status === 0 && error.retryable);
  });

  it("says who is logged in, or null", async () => {
    const { fetcher } = scriptedFetch([{ status: 401, body: { detail: "not logged in" } }]);
    assert.equal(await new Api("http://x/api/v1", fetcher).me(), null);
  });
});

describe("JoinTokens", () => {
  const setup = (answers, { now = 1000, storage = new MemoryStorage(), link = null } = {}) => {
    const { fetcher, calls } = scriptedFetch(answers);
    const clock = { now };
    const tokens = new JoinTokens({
      api: new Api("http://x/api/v1", fetcher),
      session: "s",
      namespace: "default",
      storage,
      name: () => "Ann",
      link,
      now: () => clock.now,
    });
    return { tokens, calls, clock, storage };
  };

  it("joins as a guest with a name, then keeps the token for the tab", async () => {
    const { tokens, calls, storage } = setup([{ body: token("t1", "guest:1", 5000) }]);
    assert.equal(await tokens.get({ refresh: false }), "t1");
    assert.equal(await tokens.get({ refresh: false }), "t1");
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0].body, { name: "Ann" });
    assert.equal(JSON.parse(storage.getItem(tokenKey("default", "s"))).token, "t1");
    const reloaded = setup([], { storage });
    assert.equal(await reloaded.tokens.get({ refresh: false }), "t1"); // same person after a reload
  });

  it("redeems a share link when the page came from one", async () => {
    const { tokens, calls } = setup([{ body: token("t1", "guest:1", 5000) }], { link: "ab.cd" });
    await tokens.get({ refresh: false });
    assert.deepEqual(calls[0].body, { name: "Ann", link: "ab.cd" });
  });

  it("renews before expiry as the same person, with the token as bearer", async () => {
    const { tokens, calls, clock } = setup([{ body: token("t1", "guest:1", 5000) }, { body: token("t2", "guest:1", 9000) }]);
    await tokens.get({ refresh: false });
    clock.now = 5000 - RENEW_BEFORE_SECONDS + 1;
    assert.equal(await tokens.get({ refresh: false }), "t2");
    assert.equal(calls[1].headers.Authorization, "Bearer t1");
  });

  it("joins afresh when the service will not renew, and after a refusal", async () => {
    const { tokens, calls } = setup([
      { body: token("t1", "guest:1", 5000) },
      { status: 401, body: { detail: "invalid join token" } },
      { body: token("t2", "guest:2", 9000) },
    ]);
    await tokens.get({ refresh: false });
    assert.equal(await tokens.get({ refresh: true }), "t2");
    assert.equal(calls[2].headers.Authorization, undefined);
    assert.equal(tokens.current.sub, "guest:2");
  });

  it("tells the connection whether trying again can help", async () => {
    const down = setup([new TypeError("Failed to fetch")]);
    await assert.rejects(down.tokens.get({ refresh: false }), (e) => e instanceof TokenUnavailable && e.retry);
    const refused = setup([{ status: 403, body: { detail: "private board" } }]);
    await assert.rejects(refused.tokens.get({ refresh: false }), (e) => e instanceof TokenUnavailable && !e.retry);
  });

  it("forgets an expired token kept from before", async () => {
    const storage = new MemoryStorage();
    storage.setItem(tokenKey("default", "s"), JSON.stringify(token("old", "guest:1", 10)));
    const { tokens } = setup([{ body: token("t1", "guest:1", 5000) }], { storage });
    assert.equal(tokens.current, null);
    assert.equal(await tokens.get({ refresh: false }), "t1");
  });
});

describe("recent boards", () => {
  it("keeps the newest first, once each, and at most MAX_RECENT", () => {
    const storage = new MemoryStorage();
    rememberBoard(storage, "a", "Alpha", 1);
    rememberBoard(storage, "b", undefined, 2);
    rememberBoard(storage, "a", undefined, 3);
    assert.deepEqual(recentBoards(storage), [
      { name: "a", title: "Alpha", openedAt: 3 },
      { name: "b", title: "", openedAt: 2 },
    ]);
    for (let i = 0; i < 20; i += 1) rememberBoard(storage, `board-${i}`, "", 10 + i);
    assert.equal(recentBoards(storage).length, MAX_RECENT);
    storage.setItem("drawnet.recent", "{broken");
    assert.deepEqual(recentBoards(storage), []);
  });

  it("says how long ago", () => {
    assert.equal(timeAgo(0, 30_000), "just now");
    assert.equal(timeAgo(0, 5 * 60_000), "5 min ago");
    assert.equal(timeAgo(0, 3 * 3_600_000), "3 h ago");
    assert.equal(timeAgo(0, 86_400_000), "yesterday");
  });
});

describe("tools", () => {
  it("style strokes: a highlighter is wide and see-through, widths stay within the room's limit", () => {
    assert.deepEqual(strokeStyle("pen", "#000000", 4, 200), { tool: "pen", color: "#000000", width: 4, opacity: 1 });
    assert.equal(strokeStyle("line", "#000000", 4, 200).tool, "line");
    const marker = strokeStyle("highlighter", "#ffd43b", 4, 200);
    assert.equal(marker.tool, "highlighter");
    assert.equal(marker.opacity, HIGHLIGHTER_OPACITY);
    assert.equal(marker.width, 12);
    assert.equal(strokeStyle("highlighter", "#000000", 40, 100).width, 100);
  });

  it("map keys to actions", () => {
    assert.equal(shortcut({ key: "z", ctrlKey: true }), "undo");
    assert.equal(shortcut({ key: "Z", ctrlKey: true, shiftKey: true }), "redo");
    assert.equal(shortcut({ key: "y", metaKey: true }), "redo");
    assert.equal(shortcut({ key: "e" }), "tool:eraser");
    assert.equal(shortcut({ key: "P" }), "tool:pen");
    assert.equal(shortcut({ key: "+" }), "zoom:in");
    assert.equal(shortcut({ key: "]" }), "width:up");
    assert.equal(shortcut({ key: "e", altKey: true }), null);
    assert.equal(shortcut({ key: "q" }), null);
  });

  it("move the selection in the stacking order with Ctrl/⌘ and the brackets, as Excalidraw and tldraw do", () => {
    assert.equal(shortcut({ key: "]", ctrlKey: true }), "order:forward");
    assert.equal(shortcut({ key: "[", metaKey: true }), "order:backward");
    // Shift turns the brackets into braces on a US keyboard; the key's code is the same.
    assert.equal(shortcut({ key: "}", code: "BracketRight", ctrlKey: true, shiftKey: true }), "order:front");
    assert.equal(shortcut({ key: "{", code: "BracketLeft", ctrlKey: true, shiftKey: true }), "order:back");
    assert.equal(shortcut({ key: "ü", code: "BracketLeft", ctrlKey: true }), "order:backward");
    assert.equal(shortcut({ key: "[" }), "width:down");
  });
});

describe("open sessions in the lobby", () => {
  it("say how their room is doing", () => {
    const status = { phase: "Pending", ready: false, participants: 0, strokes: 0 };
    assert.equal(roomDetail(status), "pending");
    assert.equal(roomDetail({ ...status, phase: "Recovering", participants: 2 }), "recovering · 2 drawing");
    assert.equal(roomDetail({ ...status, phase: "Running", ready: true, participants: 3 }), "open · 3 drawing");
    assert.equal(roomDetail({ ...status, phase: "Running", ready: true }), "open");
  });
});

describe("the clipboard", () => {
  const box = { kind: "shape", id: "b1", shape: "rect", x: 10, y: 20, w: 30, h: 40, color: "#1e1e1e", width: 2 };
  const note = { kind: "note", id: "n1", x: 0, y: 0, w: 200, text: "old", size: 20, fill: "#ffec99" };
  const text = copied([
    [box, { m: null, text: null }],
    [note, { m: [1, 0, 0, 1, 5, 5], text: "new" }],
  ]);

  it("gives back the items copied with their places, so the view can find their middle", () => {
    const items = clipped(text);
    assert.deepEqual(items?.map(([item, place]) => [item.id, place]), [
      ["b1", { m: null, text: null }],
      ["n1", { m: [1, 0, 0, 1, 5, 5], text: "new" }],
    ]);
    assert.equal(clipped("not json"), null);
    assert.equal(clipped('{"drawnet": "other"}'), null);
  });

  it("pastes new items moved by the offset asked for", () => {
    let n = 0;
    const pasted = pasteFrom(text, () => `p${(n += 1)}`, 100, -20);
    assert.deepEqual(pasted?.ids, ["p1", "p2"]);
    const [first, second, third] = pasted?.ops ?? [];
    assert.deepEqual([first.id, first.x, first.y], ["p1", 110, 0]);
    assert.deepEqual([second.id, second.text], ["p2", "new"]);
    assert.deepEqual(third, { kind: "transform", id: "p3", items: ["p2"], m: [1, 0, 0, 1, 105, -15] });
  });
});
