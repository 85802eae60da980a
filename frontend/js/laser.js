// Laser pointer trails: points that fade out within a moment and leave nothing on the board. Mine and
// everyone else's (live `laser` messages), per participant. Pure: no DOM; drawing takes a 2D context.

/** How long (ms) a point of a trail stays visible: it fades from full to nothing over this time. */
export const LASER_FADE_MS = 1_000;
/** At most this many points are kept per participant (older ones go first). */
export const LASER_MAX_POINTS = 600;
/** The trail's colour (the same for everyone: people know a laser pointer's red) and width (screen px). */
export const LASER_COLOR = "#ff2d55";
export const LASER_WIDTH_PX = 4;

/**
 * A point of a trail: x, y in board units, when it was seen (ms), and whether it begins a new trail.
 * @typedef {{x: number, y: number, at: number, start: boolean}} TrailPoint
 */

export class LaserTrails {
  constructor() {
    /** @type {Map<string, TrailPoint[]>} */
    this.byWho = new Map();
  }

  /**
   * @param {string} who a participant id ("me" for this page's own)
   * @param {[number, number][]} pts
   * @param {boolean} start the first points of a new trail
   * @param {number} now ms
   */
  add(who, pts, start, now) {
    let trail = this.byWho.get(who);
    if (!trail) this.byWho.set(who, (trail = []));
    pts.forEach(([x, y], i) => trail.push({ x, y, at: now, start: start && i === 0 }));
    if (trail.length > LASER_MAX_POINTS) trail.splice(0, trail.length - LASER_MAX_POINTS);
  }

  /** @param {string} who */
  forget(who) {
    this.byWho.delete(who);
  }

  /**
   * Drop the points that have faded out; whether anything is left to draw.
   * @param {number} now ms
   */
  prune(now) {
    for (const [who, trail] of this.byWho) {
      const first = trail.findIndex((p) => now - p.at < LASER_FADE_MS);
      if (first === -1) this.byWho.delete(who);
      else if (first > 0) trail.splice(0, first);
    }
    return this.byWho.size > 0;
  }

  /**
   * Points visible now, per participant.
   * @param {number} now ms
   * @returns {Map<string, number>}
   */
  visible(now) {
    /** @type {Map<string, number>} */
    const counts = new Map();
    for (const [who, trail] of this.byWho) {
      const n = trail.filter((p) => now - p.at < LASER_FADE_MS).length;
      if (n > 0) counts.set(who, n);
    }
    return counts;
  }

  /**
   * Draw every trail, each segment as opaque as its newer end is fresh, in board units.
   * @param {CanvasRenderingContext2D} ctx
   * @param {number} zoom screen pixels per board unit (the width stays the same on screen)
   * @param {number} now ms
   */
  draw(ctx, zoom, now) {
    ctx.save();
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.strokeStyle = LASER_COLOR;
    ctx.fillStyle = LASER_COLOR;
    ctx.shadowColor = LASER_COLOR;
    ctx.shadowBlur = 8;
    for (const trail of this.byWho.values()) {
      for (let i = 0; i < trail.length; i += 1) {
        const point = trail[i];
        const life = 1 - (now - point.at) / LASER_FADE_MS;
        if (life <= 0) continue;
        ctx.globalAlpha = life;
        const previous = trail[i - 1];
        if (previous && !point.start) {
          ctx.lineWidth = (LASER_WIDTH_PX * (0.4 + 0.6 * life)) / zoom;
          ctx.beginPath();
          ctx.moveTo(previous.x, previous.y);
          ctx.lineTo(point.x, point.y);
          ctx.stroke();
        }
      }
      const head = trail.at(-1);
      if (head && now - head.at < LASER_FADE_MS) {
        ctx.globalAlpha = 1 - (now - head.at) / LASER_FADE_MS;
        ctx.beginPath();
        ctx.arc(head.x, head.y, (LASER_WIDTH_PX * 1.2) / zoom, 0, Math.PI * 2);
        ctx.fill();
      }
    }
    ctx.restore();
  }
}
