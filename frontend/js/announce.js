// What a screen reader should hear without moving focus: joins, leaves and connection changes, said
// through a polite live region (index.html `#announcer`: aria-live="polite", visually hidden). Each
// message is a new paragraph, so two in a row are both read; only the last few are kept.

/** Paragraphs kept in the region (older ones are removed: they were read already). */
export const KEEP = 5;

export class Announcer {
  /** @param {HTMLElement} region */
  constructor(region) {
    this.region = region;
    /** Everything said, oldest first (for the tests' snapshot). @type {string[]} */
    this.said = [];
  }

  /** @param {string} message */
  say(message) {
    this.said.push(message);
    if (this.said.length > 50) this.said.shift();
    const line = document.createElement("p");
    line.textContent = message;
    this.region.append(line);
    while (this.region.childElementCount > KEEP) this.region.firstElementChild?.remove();
  }
}
