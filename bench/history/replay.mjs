// bench/history: the web app's side of the timeline, in node with its fetch and board.js: fetch the whole
// history page by page (as js/history.js does), open the timeline at the last op (history.js `Timeline`,
// keeping its checkpoints), then jump to random points (a scrub anywhere, backwards mostly).
//   node bench/history/replay.mjs <drawing service URL> <session> [runs]
import { performance } from "node:perf_hooks";

import { Timeline } from "../../frontend/js/history.js";

const [base, session, runsArg] = process.argv.slice(2);
const runs = Number(runsArg ?? 5);
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function fetchAll() {
  const entries = [];
  let after = 0;
  let bytes = 0;
  let pages = 0;
  while (after !== null) {
    const response = await fetch(`${base}/api/v1/sessions/${session}/history?after=${after}`);
    const text = await response.text();
    bytes += text.length;
    pages += 1;
    const page = JSON.parse(text);
    entries.push(...page.ops);
    after = page.next;
  }
  return { entries, bytes, pages };
}

const fetches = [];
let fetched = null;
for (let i = 0; i < runs; i += 1) {
  const start = performance.now();
  fetched = await fetchAll();
  fetches.push(performance.now() - start);
}
const opens = [];
let timeline = null;
for (let i = 0; i < runs; i += 1) {
  const start = performance.now();
  timeline = new Timeline(fetched.entries);
  timeline.moveTo(fetched.entries.length);
  opens.push(performance.now() - start);
}
const items = timeline.board.size;
// Seeded jumps: the same points every run.
let seed = 7;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const jumps = [];
for (let i = 0; i < 40; i += 1) {
  const to = Math.floor(random() * fetched.entries.length);
  const start = performance.now();
  timeline.moveTo(to);
  jumps.push(performance.now() - start);
}
console.log(
  JSON.stringify({
    ops: fetched.entries.length,
    pages: fetched.pages,
    megabytes: fetched.bytes / 1e6,
    fetch_ms: median(fetches),
    open_ms: median(opens),
    items,
    jump_median_ms: median(jumps),
    jump_max_ms: Math.max(...jumps),
  }),
);
