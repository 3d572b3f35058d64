// Figure 3: file.write and file.read of 1 KiB, 1 MiB and 64 MiB, with the peak resident
// memory of the Node process. Each client writes in one child process (transfer-child.mjs)
// and reads back in another. The clients of a round run one after another, in an order that
// rotates between rounds, and each round checks that the contents read equal those written.

import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { rotate, summarize } from '../lib/stats.mjs';

const execFileAsync = promisify(execFile);
const childScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'transfer-child.mjs');
const clientNames = ['ours', 'official', 'officialHttp1', 'floor'];

const KiB = 1024;
const MiB = 1024 * KiB;

/** Sizes, rounds (a write child and a read child per client each) and repetitions per child. */
function plan(smoke) {
  if (smoke) {
    return [
      { bytes: KiB, label: '1 KiB', rounds: 1, reps: 5 },
      { bytes: MiB, label: '1 MiB', rounds: 1, reps: 2 },
    ];
  }
  return [
    { bytes: KiB, label: '1 KiB', rounds: 3, reps: 40 },
    { bytes: MiB, label: '1 MiB', rounds: 3, reps: 10 },
    // One transfer per process, so that its memory peak includes no garbage of an earlier one.
    { bytes: 64 * MiB, label: '64 MiB', rounds: 5, reps: 1 },
  ];
}

/** Measures file transfers; returns table rows. */
export async function runTransfer({ api, server, smoke, log, notes }) {
  const devbox = await api.createDevbox({ name: 'bench-transfer' });
  const rows = [];

  try {
    for (const size of plan(smoke)) {
      log(`transfer: ${size.label}, ${size.rounds} rounds of ${size.reps}`);
      const results = Object.fromEntries(clientNames.map((name) => [name, []]));

      for (let round = 0; round < size.rounds; round++) {
        for (const name of rotate(clientNames, round)) {
          const context = { server, devboxId: devbox.id };
          const write = await runChild(name, 'write', size, context);
          const read = await runChild(name, 'read', size, context);
          if (read.sha256 !== write.sha256) {
            throw new Error(`${name} read back different contents than it wrote (${size.label})`);
          }
          results[name].push({ write, read });
        }
      }

      const all = Object.values(results).flat();
      if (all.some(({ write, read }) => !write.peakResetWorked || !read.peakResetWorked)) {
        notes.push(
          'Peak RSS could not be reset through /proc/self/clear_refs, so the memory figures '
            + 'are not meaningful.',
        );
      }
      rows.push(...sizeRows(size, results));
    }
  } finally {
    await api.shutdown(devbox.id);
  }
  return rows;
}

async function runChild(name, direction, size, { server, devboxId }) {
  const { stdout } = await execFileAsync(
    process.execPath,
    ['--expose-gc', childScript, name, direction, String(size.bytes), String(size.reps)],
    {
      env: {
        ...process.env,
        BENCH_BASE_URL: server.baseURL,
        BENCH_TOKEN: server.token,
        BENCH_DEVBOX: devboxId,
      },
      maxBuffer: 16 * MiB,
    },
  );
  return JSON.parse(stdout);
}

function sizeRows(size, results) {
  const small = size.bytes < MiB;
  const throughput = (ms) => size.bytes / MiB / (ms / 1000);
  const cells = (values) =>
    Object.fromEntries(clientNames.map((name) => [name, summarize(values(results[name]))]));

  const speed = small ? { unit: 'ms', better: 'lower' } : { unit: 'MiB/s', better: 'higher' };
  const rows = [];
  for (const direction of ['write', 'read']) {
    const times = (runs) => runs.flatMap((run) => run[direction].times);
    rows.push({
      id: '3',
      key: `${direction}-${size.label}`,
      figure: `file.${direction} ${size.label}`,
      ...speed,
      floorLabel: direction === 'write' ? 'raw fetch' : 'raw fetch + text()',
      cells: cells((runs) => (small ? times(runs) : times(runs).map(throughput))),
    });
  }

  if (!small) {
    for (const direction of ['write', 'read']) {
      rows.push({
        id: '3',
        key: `memory-${direction}-${size.label}`,
        figure: `peak RSS growth over ${size.reps} × file.${direction} ${size.label}`,
        unit: 'MiB',
        better: 'lower',
        floorLabel: 'raw fetch',
        cells: cells((runs) => runs.map((run) => run[direction].peakKiB / KiB)),
      });
    }
  }
  return rows;
}
