// The lobby (`/`): pick or make a board name, say who you are, go to `/s/<session>`.

import { element, local } from "./dom.js";
import { loadPrefs, savePrefs } from "./identity.js";
import { isValidColor, isValidSessionName } from "./protocol.js";
import { boardPath, normalizeSessionName, randomSessionName } from "./routes.js";

/** @typedef {import("./api.js").Config} Config */

/**
 * @param {Config} config
 * @param {string | undefined} error why the URL did not open a board
 */
export function startLobby(config, error) {
  element("lobby", HTMLElement).hidden = false;
  const form = element("lobby-form", HTMLFormElement);
  const sessionInput = element("lobby-session", HTMLInputElement);
  const nameInput = element("lobby-name", HTMLInputElement);
  const colorInput = element("lobby-color", HTMLInputElement);
  const errorText = element("lobby-error", HTMLParagraphElement);
  const { prefs } = loadPrefs(local());
  nameInput.value = prefs.name;
  colorInput.value = prefs.color;

  /** @param {string} message */
  const showError = (message) => {
    errorText.textContent = message;
    errorText.hidden = !message;
    sessionInput.setAttribute("aria-invalid", message ? "true" : "false");
  };
  showError(error ?? "");

  /** @param {string} session */
  const go = (session) => {
    const color = isValidColor(colorInput.value) ? colorInput.value : prefs.color;
    // The person's colour is also their pen's, unless they had picked another pen colour on a board.
    const penColor = prefs.penColor === prefs.color ? color : prefs.penColor;
    savePrefs(local(), { ...prefs, name: nameInput.value.trim(), color, penColor });
    window.location.assign(boardPath(session, config.injected));
  };

  sessionInput.addEventListener("input", () => showError(""));
  sessionInput.addEventListener("blur", () => {
    if (sessionInput.value) sessionInput.value = normalizeSessionName(sessionInput.value);
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const session = normalizeSessionName(sessionInput.value);
    sessionInput.value = session;
    if (!session) showError("Name a board to join, or start a new one.");
    else if (!isValidSessionName(session)) showError("Use lowercase letters, digits and dashes.");
    else go(session);
  });
  element("lobby-new", HTMLButtonElement).addEventListener("click", () => go(randomSessionName()));
  sessionInput.focus();
}
