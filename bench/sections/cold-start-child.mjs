// Child process of the cold-start benchmark, run once per sample in a fresh Node process:
// imports one client, constructs it, sends one getInfo and prints its timings as JSON.
//
//   node bench/sections/cold-start-child.mjs CLIENT
// with BENCH_BASE_URL, BENCH_TOKEN and BENCH_DEVBOX in the environment. Times are
// milliseconds; `importStartEpochMs` lets the parent relate its own clock to this process.

import { performance } from 'node:perf_hooks';

const bootMs = performance.now();
const importStartEpochMs = performance.timeOrigin + bootMs;

const { createClient } = await import('../lib/clients.mjs');
const client = await createClient(process.argv[2], {
  baseURL: process.env.BENCH_BASE_URL,
  token: process.env.BENCH_TOKEN,
});
const importMs = performance.now() - bootMs;

const view = await client.getInfo(process.env.BENCH_DEVBOX);
const firstResponseMs = performance.now() - bootMs;

if (view.id !== process.env.BENCH_DEVBOX) {
  throw new Error(`getInfo returned devbox ${view.id}, expected ${process.env.BENCH_DEVBOX}`);
}
const timings = { bootMs, importMs, firstResponseMs, importStartEpochMs };
process.stdout.write(`${JSON.stringify(timings)}\n`);

// The official client keeps its HTTP/2 session open; exit instead of waiting for it.
process.exit(0);
