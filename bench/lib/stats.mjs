// Summary statistics and timing helpers shared by the benchmark sections.

import { performance } from 'node:perf_hooks';

/**
 * Returns the q-quantile (0..1) of `values` by linear interpolation between the closest
 * ranks, or NaN for an empty list.
 */
export function quantile(values, q) {
  if (values.length === 0) return Number.NaN;

  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  const weight = position - lower;
  return sorted[lower] * (1 - weight) + sorted[upper] * weight;
}

/** Summarizes samples as `{ median, p90, n }`. */
export function summarize(values) {
  return { median: quantile(values, 0.5), p90: quantile(values, 0.9), n: values.length };
}

/** A summary that holds one measured or counted value, shown without a p90. */
export function single(value) {
  return { median: value, p90: undefined, n: 1 };
}

/** Runs `fn` and returns the time it took in milliseconds, with its result. */
export async function timed(fn) {
  const start = performance.now();
  const result = await fn();
  return { ms: performance.now() - start, result };
}

/**
 * Times `reps` calls of each named client's operation, interleaved round-robin: every round
 * calls each client once, and the starting client rotates from round to round, so machine
 * noise and server state changes hit all clients alike. `warmup` untimed rounds come first.
 * Returns `{ [name]: number[] }` of milliseconds.
 *
 * @param {Record<string, (round: number) => Promise<unknown>>} operations
 */
export async function interleave(operations, { reps, warmup = 0 }) {
  const names = Object.keys(operations);
  const samples = Object.fromEntries(names.map((name) => [name, []]));

  for (let round = 0; round < warmup + reps; round++) {
    for (let offset = 0; offset < names.length; offset++) {
      const name = names[(round + offset) % names.length];
      const { ms } = await timed(() => operations[name](round));
      if (round >= warmup) samples[name].push(ms);
    }
  }
  return samples;
}

/** Returns `names` rotated left by `round` places, for round-robin ordering. */
export function rotate(names, round) {
  const shift = round % names.length;
  return [...names.slice(shift), ...names.slice(0, shift)];
}
