// The small pure modules around the app: config, routes, identity.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { parseConfig, roomSocketUrl } from "../../frontend/js/api.js";
import { claimClientId, loadPrefs, makeIdFactory, randomToken, savePrefs } from "../../frontend/js/identity.js";
import { isValidId, isValidSessionName } from "../../frontend/js/protocol.js";
import {
  boardPath,
  normalizeSessionName,
  parseBoardInput,
  parseRoute,
  randomSessionName,
} from "../../frontend/js/routes.js";
import { MemoryStorage } from "./helpers.mjs";

const http = { protocol: "http:", hostname: "draw.example", origin: "http://draw.example" };

describe("config", () => {
  it("reads the injected config", () => {
    const config = parseConfig(
      { textContent: '{"roomUrl": "wss://rooms.example/", "apiUrl": "https://draw.example/api/v1", "namespace": "team-a"}' },
      http,
    );
    assert.deepEqual(config, {
      roomUrl: "wss://rooms.example",
      apiUrl: "https://draw.example/api/v1",
      namespace: "team-a",
      injected: true,
    });
    assert.equal(roomSocketUrl(config, "board-1"), "wss://rooms.example/rooms/board-1");
  });

  it("falls back to this host's port 8001 and this origin's API when the placeholder is still there", () => {
    assert.deepEqual(parseConfig({ textContent: "{}" }, http), {
      roomUrl: "ws://draw.example:8001",
      apiUrl: "http://draw.example/api/v1",
      namespace: "default",
      injected: false,
    });
    assert.equal(parseConfig(null, { protocol: "https:", hostname: "x" }).roomUrl, "wss://x:8001");
    assert.equal(parseConfig({ textContent: "garbage" }, { protocol: "file:", hostname: "" }).roomUrl, "ws://127.0.0.1:8001");
    assert.equal(parseConfig({ textContent: '{"roomUrl": "http://x", "namespace": "Bad_NS"}' }, http).namespace, "default");
  });
});

describe("routes", () => {
  it("parses the lobby and board URLs", () => {
    assert.deepEqual(parseRoute("/", ""), { view: "lobby" });
    assert.deepEqual(parseRoute("/s/team-sketch", ""), { view: "board", session: "team-sketch", link: null });
    assert.deepEqual(parseRoute("/s/team-sketch/", ""), { view: "board", session: "team-sketch", link: null });
    assert.deepEqual(parseRoute("/index.html", "#/s/abc"), { view: "board", session: "abc", link: null });
    assert.deepEqual(parseRoute("/s/abc", "", "?link=0a1b.c_d-E"), { view: "board", session: "abc", link: "0a1b.c_d-E" });
    assert.equal(parseRoute("/s/abc", "", "?link=<script>").view === "board" && parseRoute("/s/abc", "", "?link=<x>").link, null);
    assert.equal(parseRoute("/s/Bad_Name", "").view, "lobby");
    assert.match(parseRoute("/s/Bad_Name", "").error ?? "", /not a board name/);
    assert.equal(parseRoute("/s/%E0%A4%A", "").view, "lobby");
    // A session of another namespace the platform serves: `<namespace>.<name>`.
    assert.deepEqual(parseRoute("/s/team-a.retro", ""), { view: "board", session: "team-a.retro", link: null });
    assert.equal(parseRoute("/s/a.b.c", "").view, "lobby");
    assert.equal(parseRoute("/s/.retro", "").view, "lobby");
    assert.equal(parseRoute("/s/team-a.", "").view, "lobby");
  });

  it("reads what people paste into the lobby: a name, a board's address, a share link", () => {
    assert.deepEqual(parseBoardInput("Team Sketch"), { session: "team-sketch", link: null });
    assert.deepEqual(parseBoardInput("http://127.0.0.1:8000/s/roadmap?link=ab12.xyz"), { session: "roadmap", link: "ab12.xyz" });
    assert.deepEqual(parseBoardInput("https://draw.example/#/s/abc"), { session: "abc", link: null });
    assert.deepEqual(parseBoardInput("/s/abc"), { session: "abc", link: null });
    assert.deepEqual(parseBoardInput("team-a.retro"), { session: "team-a.retro", link: null });
    assert.deepEqual(parseBoardInput("https://draw.example/s/team-a.retro"), { session: "team-a.retro", link: null });
    assert.equal(parseBoardInput("https://draw.example/settings"), null);
    assert.equal(parseBoardInput("!!!"), null);
    assert.equal(parseBoardInput("  "), null);
  });

  it("links to boards", () => {
    assert.equal(boardPath("abc", true), "/s/abc");
    assert.equal(boardPath("abc", false), "#/s/abc");
  });

  it("normalizes what people type into a board name", () => {
    assert.equal(normalizeSessionName("  Team Sketch!! "), "team-sketch");
    assert.equal(normalizeSessionName("--a__b--"), "a-b");
    assert.ok(isValidSessionName(normalizeSessionName("x".repeat(80))));
    assert.equal(normalizeSessionName("!!!"), "");
  });

  it("makes valid random board names", () => {
    for (let i = 0; i < 200; i += 1) assert.ok(isValidSessionName(randomSessionName()));
    assert.equal(randomSessionName(() => 0), "amber-badger-0000");
  });
});

describe("identity", () => {
  it("op ids are valid, unique and differ between page loads", () => {
    const first = makeIdFactory("cabcdefghij");
    const second = makeIdFactory("cabcdefghij");
    const ids = new Set();
    for (let i = 0; i < 500; i += 1) {
      for (const id of [first(), second()]) {
        assert.ok(isValidId(id), id);
        ids.add(id);
      }
    }
    assert.equal(ids.size, 1000);
    assert.match(randomToken(8), /^[a-z0-9]{8}$/);
  });

  it("keeps the client id of the tab across reloads", async () => {
    const storage = new MemoryStorage();
    const id = await claimClientId(storage, null);
    assert.match(id, /^c[a-z0-9]{10}$/);
    assert.equal(await claimClientId(storage, null), id);
  });

  it("gives a duplicated tab (same sessionStorage) a new client id", async () => {
    const channel = new EventTarget();
    /** Two BroadcastChannel ends on one bus: what one posts, the other receives. */
    const end = () => {
      const me = {
        onmessage: null,
        postMessage: (data) => channel.dispatchEvent(Object.assign(new Event("m"), { data, from: me })),
      };
      channel.addEventListener("m", (event) => {
        if (event.from !== me) me.onmessage?.({ data: event.data });
      });
      return me;
    };
    const original = new MemoryStorage();
    const id = await claimClientId(original, end(), 5);
    const duplicate = new MemoryStorage();
    duplicate.setItem("drawnet.client", id);
    const other = await claimClientId(duplicate, end(), 5);
    assert.notEqual(other, id);
    assert.equal(duplicate.getItem("drawnet.client"), other);
  });

  it("remembers preferences", () => {
    const storage = new MemoryStorage();
    const fresh = loadPrefs(storage, () => 0);
    assert.equal(fresh.saved, false);
    assert.equal(fresh.prefs.color, fresh.prefs.penColor);
    savePrefs(storage, { name: "Ada", color: "#ff0000", penColor: "#00ff00", penWidth: 9 });
    assert.deepEqual(loadPrefs(storage), {
      prefs: { name: "Ada", color: "#ff0000", penColor: "#00ff00", penWidth: 9 },
      saved: true,
    });
    storage.setItem("drawnet.prefs", '{"name": 5, "color": "red", "penWidth": -3}');
    const bad = loadPrefs(storage, () => 0).prefs;
    assert.equal(bad.name, "");
    assert.equal(bad.penWidth, 4);
  });
});
