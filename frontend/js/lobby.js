// The lobby (`/`): who you are (a guest with a name, or signed in), join a board by name or link, start a
// new one (signed in: with a title and who may open it), and the boards you opened lately.

import { Api, ApiError } from "./api.js";
import { element, local } from "./dom.js";
import { loadPrefs, savePrefs } from "./identity.js";
import { isValidColor } from "./protocol.js";
import { recentBoards, rememberBoard, timeAgo } from "./recent.js";
import { boardPath, parseBoardInput, randomSessionName } from "./routes.js";

/** @typedef {import("./api.js").Config} Config */
/** @typedef {import("./api.js").User} User */
/** @typedef {import("./api.js").Session} Session */
/** @typedef {import("./api.js").RoomStatus} RoomStatus */

/**
 * @param {Config} config
 * @param {string | undefined} error why the URL did not open a board
 */
export async function startLobby(config, error) {
  element("lobby", HTMLElement).hidden = false;
  const api = new Api(config.apiUrl);
  const joinForm = element("lobby-form", HTMLFormElement);
  const sessionInput = element("lobby-session", HTMLInputElement);
  const nameInput = element("lobby-name", HTMLInputElement);
  const colorInput = element("lobby-color", HTMLInputElement);
  const errorText = element("lobby-error", HTMLParagraphElement);
  const createForm = element("create-form", HTMLFormElement);
  const titleInput = element("create-title", HTMLInputElement);
  const visibility = element("create-visibility", HTMLSelectElement);
  const createNote = element("create-note", HTMLParagraphElement);
  const createError = element("create-error", HTMLParagraphElement);
  const { prefs } = loadPrefs(local());
  nameInput.value = prefs.name;
  colorInput.value = prefs.color;
  /** @type {User | null} */
  let user = null;

  /**
   * @param {HTMLParagraphElement} box
   * @param {string} message
   */
  const say = (box, message) => {
    box.textContent = message;
    box.hidden = !message;
  };
  /** @param {string} message */
  const showError = (message) => {
    say(errorText, message);
    sessionInput.setAttribute("aria-invalid", message ? "true" : "false");
  };
  showError(error ?? "");

  function savePerson() {
    const color = isValidColor(colorInput.value) ? colorInput.value : prefs.color;
    // The person's colour is also their pen's, unless they had picked another pen colour on a board.
    const penColor = prefs.penColor === prefs.color ? color : prefs.penColor;
    const name = nameInput.value.trim() || user?.display_name || user?.username || "";
    Object.assign(prefs, { name, color, penColor });
    savePrefs(local(), prefs);
  }

  /**
   * @param {string} session
   * @param {string | null} [link]
   */
  const go = (session, link = null) => {
    savePerson();
    const path = boardPath(session, config.injected);
    window.location.assign(link ? `${path.startsWith("#") ? "" : path}?link=${encodeURIComponent(link)}${path.startsWith("#") ? path : ""}` : path);
  };

  sessionInput.addEventListener("input", () => showError(""));
  joinForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const target = parseBoardInput(sessionInput.value);
    if (!sessionInput.value.trim()) showError("Name a board to join, or paste a link to one.");
    else if (!target) showError("That is not a board name or a board's link.");
    else go(target.session, target.link);
  });

  createForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    say(createError, "");
    if (!user) {
      // Guests start an open board: anyone with its name or link can draw on it.
      go(randomSessionName());
      return;
    }
    try {
      const title = titleInput.value.trim();
      const created = await api.createSession({
        title,
        visibility: visibility.value === "private" ? "private" : "public",
      });
      rememberBoard(local(), created.name, created.title);
      go(created.name);
    } catch (failure) {
      say(createError, failure instanceof Error ? failure.message : String(failure));
    }
  });

  // ---- who you are
  const guestRow = element("account-guest", HTMLDivElement);
  const userRow = element("account-user", HTMLDivElement);
  const authForm = element("auth-form", HTMLFormElement);
  const authSubmit = element("auth-submit", HTMLButtonElement);
  const authError = element("auth-error", HTMLParagraphElement);
  const username = element("auth-username", HTMLInputElement);
  const password = element("auth-password", HTMLInputElement);
  /** @type {"sign-in" | "register"} */
  let mode = "sign-in";

  function showAccount() {
    guestRow.hidden = user !== null || !authForm.hidden;
    userRow.hidden = user === null;
    element("account-name", HTMLElement).textContent = user ? user.display_name || user.username : "";
    titleInput.disabled = user === null;
    visibility.disabled = user === null;
    createNote.textContent = user
      ? "You own the boards you start: invite editors or viewers from the board's Share menu."
      : "As a guest you start an open board: anyone with its link can draw. Sign in for a title and private boards.";
  }

  /** @param {"sign-in" | "register"} chosen */
  function openAuth(chosen) {
    mode = chosen;
    authForm.hidden = false;
    authSubmit.textContent = chosen === "sign-in" ? "Sign in" : "Create account";
    password.autocomplete = chosen === "sign-in" ? "current-password" : "new-password";
    say(authError, "");
    showAccount();
    username.focus();
  }
  function closeAuth() {
    authForm.hidden = true;
    password.value = "";
    showAccount();
  }
  element("show-sign-in", HTMLButtonElement).addEventListener("click", () => openAuth("sign-in"));
  element("show-register", HTMLButtonElement).addEventListener("click", () => openAuth("register"));
  element("auth-cancel", HTMLButtonElement).addEventListener("click", closeAuth);
  authForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    say(authError, "");
    try {
      if (mode === "register") await api.register(username.value.trim(), password.value, nameInput.value.trim());
      const login = await api.login(username.value.trim(), password.value);
      user = login.user;
      if (!nameInput.value.trim()) nameInput.value = user.display_name || user.username;
      savePerson();
      closeAuth();
      await showSessions();
    } catch (failure) {
      say(authError, failure instanceof ApiError ? failure.message : String(failure));
    }
  });
  element("sign-out", HTMLButtonElement).addEventListener("click", async () => {
    try {
      await api.logout();
    } catch {
      // Signed out already.
    }
    user = null;
    showAccount();
    await showSessions();
  });

  // ---- recent boards: this browser's, the signed-in person's own, and the platform's open sessions
  const recentList = element("recent", HTMLUListElement);
  const recentEmpty = element("recent-empty", HTMLParagraphElement);
  async function showSessions() {
    /** @type {Map<string, {name: string, title: string, detail: string}>} */
    const rows = new Map();
    for (const board of recentBoards(local())) {
      rows.set(board.name, { name: board.name, title: board.title || board.name, detail: `opened ${timeAgo(board.openedAt)}` });
    }
    try {
      /** @type {Session[]} */
      const sessions = await api.listSessions();
      for (const session of sessions) {
        // `ref`: the name, or `<namespace>.<name>` for a session of another namespace the platform serves.
        const ref = session.ref || session.name;
        if (rows.has(ref)) continue;
        const title = session.title || session.name;
        if (user !== null && session.owner === user.id) {
          const visibility = session.visibility === "private" ? "private" : "public";
          rows.set(ref, { name: ref, title, detail: `${visibility} · yours` });
        } else if (session.owner === null && session.status) {
          // The sessions the platform runs for everyone (on Kubernetes: those a platform team applied).
          rows.set(ref, { name: ref, title, detail: roomDetail(session.status) });
        }
      }
    } catch {
      // The list is a nicety.
    }
    recentList.replaceChildren(
      ...[...rows.values()].map((row) => {
        const item = document.createElement("li");
        const link = document.createElement("a");
        link.href = boardPath(row.name, config.injected);
        link.className = "recent-link";
        link.dataset.testid = "recent-board";
        link.dataset.session = row.name;
        const title = document.createElement("span");
        title.className = "recent-title";
        title.textContent = row.title;
        const detail = document.createElement("span");
        detail.className = "recent-detail";
        detail.textContent = row.name === row.title ? row.detail : `${row.name} · ${row.detail}`;
        // The board drawn small by the drawing service (cached per board seq); a board this browser may
        // not read without its link's token shows no picture.
        const thumb = document.createElement("img");
        thumb.className = "recent-thumb";
        thumb.dataset.testid = "board-thumbnail";
        thumb.alt = "";
        thumb.loading = "lazy";
        thumb.decoding = "async";
        thumb.addEventListener("error", () => thumb.remove());
        thumb.src = `${config.apiUrl}/sessions/${encodeURIComponent(row.name)}/thumbnail.png`;
        const words = document.createElement("span");
        words.className = "recent-words";
        words.append(title, detail);
        link.append(thumb, words);
        link.addEventListener("click", savePerson);
        item.append(link);
        return item;
      }),
    );
    recentEmpty.hidden = rows.size > 0;
  }

  showAccount();
  sessionInput.focus();
  try {
    user = await api.me();
  } catch {
    user = null; // no drawing service: guests can still open boards
  }
  showAccount();
  await showSessions();
}

/**
 * How an open session's room is doing, in a few words.
 * @param {RoomStatus} status
 */
export function roomDetail(status) {
  const state = status.ready ? "open" : status.phase.toLowerCase();
  return status.participants > 0 ? `${state} · ${status.participants} drawing` : state;
}
