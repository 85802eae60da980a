// The theme in force: a remembered choice wins, else the system's prefers-color-scheme.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { resolveTheme } from "../../frontend/js/theme.js";

describe("resolveTheme", () => {
  it("follows the system without a choice", () => {
    assert.equal(resolveTheme(null, true), "dark");
    assert.equal(resolveTheme(null, false), "light");
  });
  it("keeps the remembered choice whatever the system says", () => {
    assert.equal(resolveTheme("light", true), "light");
    assert.equal(resolveTheme("dark", false), "dark");
  });
  it("ignores anything else stored", () => {
    assert.equal(resolveTheme("purple", true), "dark");
  });
});
