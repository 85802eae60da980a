// What a board's owner decides about who is in it: removing or banning a participant (from the list of
// people) and whether guests may join (a switch above it). Everything goes through the drawing service,
// which tells every room; the room closes the connections concerned and says why.

import { ApiError } from "./api.js";

/** @typedef {import("./api.js").Api} Api */
/** @typedef {import("./protocol.js").Participant} Participant */

export class Moderation {
  #known = false;

  /**
   * @param {Object} options
   * @param {Pick<Api, "getSession" | "updateSession" | "removeParticipant">} options.api
   * @param {string} options.session
   * @param {() => boolean} options.isOwner
   * @param {HTMLElement} options.guestSwitch the switch's label (hidden unless I own the board)
   * @param {HTMLInputElement} options.guestToggle its checkbox
   * @param {(message: string) => void} options.say
   */
  constructor({ api, session, isOwner, guestSwitch, guestToggle, say }) {
    this.api = api;
    this.session = session;
    this.isOwner = isOwner;
    this.guestSwitch = guestSwitch;
    this.guestToggle = guestToggle;
    this.say = say;
    guestToggle.addEventListener("change", () => this.#setGuests(guestToggle.checked));
  }

  allowed() {
    return this.isOwner();
  }

  /** After each welcome: show the owner's switch with the session's current setting. */
  async refresh() {
    if (!this.isOwner()) {
      this.guestSwitch.hidden = true;
      return;
    }
    if (this.#known) return;
    try {
      const info = await this.api.getSession(this.session);
      this.guestToggle.checked = info.allow_guests;
      this.guestSwitch.hidden = false;
      this.#known = true;
    } catch {
      // Not now: the next welcome tries again.
    }
  }

  /**
   * @param {Participant} participant
   * @param {boolean} ban
   */
  async remove(participant, ban) {
    const who = participant.name || "Guest";
    try {
      await this.api.removeParticipant(this.session, ban ? "bans" : "kicks", participant.user, who);
      this.say(ban ? `${who} is banned from this board` : `${who} was removed from this board`);
    } catch (error) {
      this.say(`Could not remove ${who}: ${error instanceof ApiError ? error.message : String(error)}`);
    }
  }

  /** @param {boolean} allow */
  async #setGuests(allow) {
    this.guestToggle.disabled = true;
    try {
      const info = await this.api.updateSession(this.session, { allow_guests: allow });
      this.guestToggle.checked = info.allow_guests;
      this.say(allow ? "Guests may join this board" : "Guests are off: those here were removed");
    } catch (error) {
      this.guestToggle.checked = !allow;
      this.say(`Could not change guest access: ${error instanceof ApiError ? error.message : String(error)}`);
    } finally {
      this.guestToggle.disabled = false;
    }
  }
}
