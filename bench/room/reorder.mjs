// board.js's side of bench/room/reorder.py: `node reorder.mjs <items> <rounds> <moved>` prints the median
// milliseconds of a reorder of <moved> scattered items, per `to`, and of an undo, as JSON.
import { Board } from "../../frontend/js/board.js";

const [items, rounds, moved] = process.argv.slice(2).map(Number);
const board = new Board();
for (let i = 0; i < items; i += 1) {
  const op = { kind: "shape", id: `i${i}`, shape: "rect", x: i % 1000, y: Math.floor(i / 1000), w: 8, h: 8, color: "#1971c2", width: 1 };
  board.apply({ seq: i + 1, by: "bench", op });
}
const step = Math.max(1, Math.floor(items / moved));
const named = [];
for (let i = 0; i < items && named.length < moved; i += step) named.push(`i${i}`);
const places = ["front", "back", "forward", "backward"];
/** @type {Record<string, number[]>} */
const times = Object.fromEntries([...places, "undo"].map((key) => [key, []]));
const time = (/** @type {() => void} */ run) => {
  const started = performance.now();
  run();
  return performance.now() - started;
};
for (let n = 0; n < rounds; n += 1) {
  for (const to of places) {
    times[to].push(time(() => board.apply({ seq: board.seq + 1, by: "bench", op: { kind: "reorder", id: `r${n}${to}`, items: named, to } })));
  }
  times.undo.push(time(() => board.apply({ seq: board.seq + 1, by: "bench", op: { kind: "undo", id: `u${n}`, target: `r${n}backward` } })));
}
const median = (/** @type {number[]} */ values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
process.stdout.write(JSON.stringify(Object.fromEntries(Object.entries(times).map(([key, values]) => [key, median(values)]))));
