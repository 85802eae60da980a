// Small DOM helpers shared by the views: typed element lookup, storages that may be disabled, the toast.

/**
 * The element with this id, checked to be of the expected class.
 * @template {HTMLElement} T
 * @param {string} id
 * @param {{new (): T, prototype: T}} type
 * @returns {T}
 */
export function element(id, type) {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new Error(`#${id} is missing from index.html`);
  return found;
}

/** @param {string} text */
export function capitalize(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** @returns {Storage | null} */
export function local() {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

/** @returns {Storage | null} */
export function perTab() {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

/** Shows a short message at the bottom of the board. */
export const toast = (() => {
  /** @type {number | undefined} */
  let timer;
  /** @param {string} text */
  return (text) => {
    const box = element("toast", HTMLDivElement);
    box.textContent = text;
    box.hidden = false;
    window.clearTimeout(timer);
    timer = window.setTimeout(() => {
      box.hidden = true;
    }, 4000);
  };
})();
