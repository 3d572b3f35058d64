// The project's performance targets, checked against the measured rows. A target whose row
// was not measured in this run (a smoke run, or --only) is reported as not measured.

import { formatNumber, ratio } from './report.mjs';

/** Size of the largest transferred file, in MiB. */
const fileMiB = 64;

/** Returns `{ name, measured, met }` for every target; `met` is undefined when unmeasured. */
export function evaluateTargets(rows, { smoke }) {
  const byKey = new Map(rows.map((row) => [row.key, row]));
  const cell = (key, client) => byKey.get(key)?.cells?.[client];
  const median = (key, client) => cell(key, client)?.median;
  const ms = (value) => `${formatNumber(value)} ms`;
  const times = (value) => `${value.toFixed(2)}×`;
  const scale = smoke ? ' (smoke sizes)' : '';
  const targets = [];

  const add = (name, measure) => {
    const outcome = measure();
    targets.push(outcome ? { name, ...outcome } : { name, measured: '—', met: undefined });
  };

  add('getInfo latency within 1.10× raw fetch and below the official SDK', () => {
    const toFloor = ratio(cell('getInfo', 'ours'), cell('getInfo', 'floor'));
    const toOfficial = ratio(cell('getInfo', 'ours'), cell('getInfo', 'official'));
    if (toFloor === undefined || toOfficial === undefined) return undefined;
    return {
      measured: `${times(toFloor)} raw fetch, ${times(toOfficial)} official (h2c); `
        + `${ms(median('getInfo', 'ours'))} median`,
      met: toFloor <= 1.1 && toOfficial < 1,
    };
  });

  add('wasm + JS glue ≤ 100 KiB gzip', () => {
    const kib = median('bundle-gzip', 'ours');
    if (kib === undefined) return undefined;
    return { measured: `${formatNumber(kib)} KiB`, met: kib <= 100 };
  });

  add('zero runtime dependencies', () => {
    const count = median('dependencies', 'ours');
    if (count === undefined) return undefined;
    return { measured: `${count}`, met: count === 0 };
  });

  add('cold start (import to first request sent) ≤ 100 ms', () => {
    const value = median('cold-start-request', 'ours');
    if (value === undefined) return undefined;
    return { measured: `${ms(value)} median`, met: value <= 100 };
  });

  add(`snapshot of a 1 MiB change on a 1 GiB base ≤ 50 ms${scale}`, () => {
    const server = median('snapshot-inherited', 'floor');
    const sdk = median('snapshot-inherited', 'ours');
    if (server === undefined) return undefined;
    return {
      measured: `${ms(server)} median (synchronous snapshot_disk); runloop-wasm's `
        + `snapshotDisk ${ms(sdk)}`,
      met: server <= 50,
    };
  });

  add(`restore ≤ 100 ms p50 at every measured chain depth${scale}`, () => {
    const restoreRows = rows.filter((row) => row.key.startsWith('restore-'));
    if (restoreRows.length === 0) return undefined;
    const worst = Math.max(...restoreRows.map((row) => row.cells.ours.median));
    const worstFloor = Math.max(...restoreRows.map((row) => row.cells.floor.median));
    return {
      measured: `worst median ${ms(worst)} (runloop-wasm), ${ms(worstFloor)} (raw fetch)`,
      met: worst <= 100,
    };
  });

  add('fan-out of 10 devboxes ≤ 1 s', () => {
    const value = median('fan-out', 'ours');
    if (value === undefined) return undefined;
    return { measured: `${ms(value)} median`, met: value <= 1000 };
  });

  for (const direction of ['write', 'read']) {
    add(`64 MiB file.${direction} throughput ≥ 0.8× raw fetch`, () => {
      const key = `${direction}-64 MiB`;
      const value = ratio(cell(key, 'ours'), cell(key, 'floor'));
      if (value === undefined) return undefined;
      return {
        measured: `${times(value)} (${formatNumber(median(key, 'ours'))} MiB/s)`,
        met: value >= 0.8,
      };
    });
  }

  add('64 MiB transfer: peak memory growth ≤ 2× the file (128 MiB)', () => {
    const write = median('memory-write-64 MiB', 'ours');
    const read = median('memory-read-64 MiB', 'ours');
    if (write === undefined || read === undefined) return undefined;
    return {
      measured: `file.write ${formatNumber(write)} MiB, file.read ${formatNumber(read)} MiB`,
      met: Math.max(write, read) <= 2 * fileMiB,
    };
  });

  return targets;
}
