// The owner's board settings: rename it, change who may open it, manage its share links (create, copy,
// revoke) and delete it (after typing its name), through the REST API (docs/api.md). A dialog on the
// board's page, opened from the Settings button only the owner sees.

/** @typedef {import("./api.js").ShareLink} ShareLink */

/**
 * A share link's line in the list, for people.
 * @param {ShareLink} link
 * @param {number} [now] unix seconds
 */
export function describeLink(link, now = Date.now() / 1000) {
  const role = link.role === "viewer" ? "View only" : "Can edit";
  if (link.revoked) return `${role} · revoked`;
  if (link.expires_at <= now) return `${role} · expired`;
  const days = Math.max(1, Math.round((link.expires_at - now) / 86400));
  return `${role} · ${days} day${days === 1 ? "" : "s"} left`;
}

/**
 * @typedef {Object} SettingsHost
 * @property {import("./api.js").Api} api
 * @property {string} session
 * @property {(text: string) => Promise<boolean>} copy
 * @property {(message: string) => void} toast
 * @property {(title: string) => void} retitled
 * @property {() => void} deleted
 */

/**
 * @param {SettingsHost} host
 * @param {HTMLButtonElement} button
 * @param {HTMLDialogElement} dialog
 */
export function attachSettings(host, button, dialog) {
  /** @param {string} id */
  const get = (id) => /** @type {HTMLElement} */ (dialog.querySelector(`[data-testid="${id}"]`));
  const title = /** @type {HTMLInputElement} */ (get("settings-title"));
  const visibility = /** @type {HTMLSelectElement} */ (get("settings-visibility"));
  const list = get("settings-links");
  const confirm = /** @type {HTMLInputElement} */ (get("settings-delete-confirm"));
  const remove = /** @type {HTMLButtonElement} */ (get("settings-delete"));
  const error = get("settings-error");
  /** The newest link's address: shown once, when it is made. @type {Map<string, string>} */
  const fresh = new Map();

  /** @param {unknown} reason */
  function fail(reason) {
    error.textContent = reason instanceof Error ? reason.message : String(reason);
    error.hidden = false;
  }

  async function showLinks() {
    const links = await host.api.listLinks(host.session);
    list.replaceChildren(
      ...links.map((link) => {
        const item = document.createElement("li");
        item.className = "settings-link";
        item.dataset.testid = "settings-link";
        item.dataset.link = link.id;
        const text = document.createElement("span");
        text.textContent = describeLink(link);
        item.append(text);
        const url = fresh.get(link.id);
        if (url && !link.revoked) {
          const copy = document.createElement("button");
          copy.type = "button";
          copy.className = "button small";
          copy.textContent = "Copy";
          copy.dataset.testid = "settings-link-copy";
          copy.addEventListener("click", async () => {
            if (await host.copy(url)) host.toast("Link copied");
          });
          item.append(copy);
        }
        if (!link.revoked) {
          const revoke = document.createElement("button");
          revoke.type = "button";
          revoke.className = "button small";
          revoke.textContent = "Revoke";
          revoke.dataset.testid = "settings-link-revoke";
          revoke.addEventListener("click", async () => {
            try {
              await host.api.revokeLink(host.session, link.id);
              host.toast("Link revoked: whoever joined with it is out");
              await showLinks();
            } catch (reason) {
              fail(reason);
            }
          });
          item.append(revoke);
        }
        return item;
      }),
    );
  }

  button.addEventListener("click", async () => {
    error.hidden = true;
    confirm.value = "";
    remove.disabled = true;
    try {
      const info = await host.api.getSession(host.session);
      title.value = info.title;
      visibility.value = info.visibility;
      await showLinks();
      dialog.showModal();
      title.focus();
    } catch (reason) {
      host.toast(`Settings unavailable: ${reason instanceof Error ? reason.message : String(reason)}`);
    }
  });
  get("settings-save").addEventListener("click", async (event) => {
    event.preventDefault();
    try {
      const changed = await host.api.updateSession(host.session, {
        title: title.value.trim(),
        visibility: /** @type {"public" | "private"} */ (visibility.value),
      });
      host.retitled(changed.title);
      host.toast("Settings saved");
      dialog.close();
    } catch (reason) {
      fail(reason);
    }
  });
  for (const role of /** @type {const} */ (["editor", "viewer"])) {
    get(`settings-new-${role}`).addEventListener("click", async () => {
      try {
        const minted = await host.api.createLink(host.session, role);
        if (minted.url) {
          fresh.set(minted.id, minted.url);
          if (await host.copy(minted.url)) host.toast(role === "viewer" ? "View-only link copied" : "Editor link copied");
        }
        await showLinks();
      } catch (reason) {
        fail(reason);
      }
    });
  }
  confirm.addEventListener("input", () => {
    remove.disabled = confirm.value.trim() !== host.session;
  });
  remove.addEventListener("click", async () => {
    if (confirm.value.trim() !== host.session) return;
    try {
      await host.api.deleteSession(host.session);
      dialog.close();
      host.deleted();
    } catch (reason) {
      fail(reason);
    }
  });
  get("settings-close").addEventListener("click", () => dialog.close());
}
