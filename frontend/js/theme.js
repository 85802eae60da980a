// Light and dark: the page follows the system's prefers-color-scheme until someone presses a theme toggle
// (any `[data-theme-toggle]` button); their choice is remembered (localStorage) and wins from then on.
// The canvas is shown through a CSS filter in dark mode (main.css; the mapping is in frontend/README.md):
// the board's own colours never change, so exports and the other participants' screens keep them.

/** How the canvas is shown in dark mode (main.css has the same): lightness flips, hues stay. */
export const DARK_CANVAS_FILTER = "invert(0.93) hue-rotate(180deg)";
/**
 * The inverse of DARK_CANVAS_FILTER, for pictures on the canvas: hue-rotate(180deg) undoes itself, and
 * invert(1) then contrast(1/0.86) undoes invert(0.93) (x -> 0.93 - 0.86 x). Shown through both, a photo
 * looks as it is, its range a little narrower (7 % to 93 %).
 */
export const PICTURE_FILTER = "hue-rotate(180deg) invert(1) contrast(1.1628)";

/** Where the choice is kept. */
export const THEME_KEY = "drawnet.theme";

/** @typedef {"light" | "dark"} Theme */

/**
 * The theme in force: the remembered choice, else the system's.
 * @param {string | null} stored
 * @param {boolean} systemDark
 * @returns {Theme}
 */
export function resolveTheme(stored, systemDark) {
  if (stored === "light" || stored === "dark") return stored;
  return systemDark ? "dark" : "light";
}

/**
 * Apply the theme now, follow the system's changes, and wire the toggles.
 * @param {Storage | null} storage where the choice is remembered (null: nowhere)
 */
export function startTheme(storage) {
  const query = window.matchMedia("(prefers-color-scheme: dark)");
  const buttons = /** @type {HTMLButtonElement[]} */ ([...document.querySelectorAll("[data-theme-toggle]")]);
  const meta = document.querySelector('meta[name="color-scheme"]');
  /** @type {string | null} the remembered choice (kept here too, for when storage is off) */
  let choice = null;
  try {
    choice = storage?.getItem(THEME_KEY) ?? null;
  } catch {
    // Storage off: follow the system.
  }

  function apply() {
    const theme = resolveTheme(choice, query.matches);
    document.documentElement.dataset.theme = theme;
    meta?.setAttribute("content", theme);
    for (const button of buttons) {
      button.setAttribute("aria-pressed", String(theme === "dark"));
      button.title = theme === "dark" ? "Dark mode is on: switch to light" : "Light mode is on: switch to dark";
    }
  }

  query.addEventListener("change", apply);
  for (const button of buttons) {
    button.addEventListener("click", () => {
      choice = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
      try {
        storage?.setItem(THEME_KEY, choice);
      } catch {
        // Not remembered: it still applies to this page.
      }
      apply();
    });
  }
  apply();
}
