// Fan-out through the runloop-wasm SDK: prepare a devbox, snapshot it, start three devboxes
// from the snapshot that each compress the same data with a different gzip level, compare
// the sizes, and keep only the devbox with the smallest result.
//
// Run it against any Runloop API (runloop-local included):
//   RUNLOOP_BASE_URL=http://127.0.0.1:PORT RUNLOOP_API_KEY=TOKEN node examples/fan-out.mjs

import { pathToFileURL } from 'node:url';

import { RunloopSDK } from 'runloop-wasm';

/** The gzip level each fan-out task tries, by task index. */
export const levels = [1, 6, 9];

/**
 * Runs the example and returns the fan-out's results and the devbox kept, so tests can
 * assert on them. Everything it creates is removed before it returns.
 *
 * @param {RunloopSDK} runloop
 * @param {(step: string, detail?: string) => void} [log] called once per finished step
 */
export async function runFanOutExample(runloop, log = () => {}) {
  const base = await runloop.devbox.create({ name: 'fan-out-base' });
  let snapshot;
  let kept;

  try {
    const prepare = await base.cmd.exec('seq 1 200000 > numbers.txt && wc -c < numbers.txt');
    log('1. Wrote numbers.txt in a devbox', `${(await prepare.stdout()).trim()} bytes`);

    snapshot = await base.snapshotDisk({ name: 'fan-out-base' });
    await base.shutdown();
    log('2. Snapshotted it and shut it down', snapshot.id);

    const results = await snapshot.fanOut(
      levels.length,
      async (devbox, index, { signal }) => {
        const level = levels[index];
        const run = await devbox.cmd.exec(
          `gzip -${level} -c numbers.txt > numbers.gz && wc -c < numbers.gz`,
          {},
          { signal },
        );
        if (run.exitCode !== 0) throw new Error(`gzip -${level} failed: ${await run.stderr()}`);
        return { level, bytes: Number((await run.stdout()).trim()) };
      },
      {
        concurrency: 2,
        timeout: 120_000,
        keepDevboxes: (result, all) => result.index === smallestIndex(all),
      },
    );
    for (const result of results) {
      const outcome =
        result.status === 'fulfilled'
          ? `gzip -${result.value.level}: ${result.value.bytes} bytes`
          : `failed: ${result.error}`;
      log(`3. Task ${result.index} on ${result.devboxId}`, outcome);
    }

    const best = results.find((result) => result.devbox !== null);
    if (best === undefined || best.status !== 'fulfilled') {
      throw new Error('no task succeeded, so no devbox was kept');
    }
    kept = best.devbox;
    const check = await kept.cmd.exec('gzip -t numbers.gz && echo intact');
    log(
      '4. Kept the devbox with the smallest file',
      `${kept.id}: gzip -${best.value.level}, ${(await check.stdout()).trim()}`,
    );
    return { results, kept: best };
  } finally {
    await kept?.shutdown();
    await snapshot?.delete();
    await base[Symbol.asyncDispose]();
  }
}

/** Returns the index of the first fulfilled result with the fewest bytes, or -1. */
function smallestIndex(results) {
  let best = -1;
  for (const result of results) {
    if (result.status !== 'fulfilled') continue;
    if (best === -1 || result.value.bytes < results[best].value.bytes) best = result.index;
  }
  return best;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const runloop = new RunloopSDK();
  await runFanOutExample(runloop, (step, detail) => {
    console.log(detail === undefined ? step : `${step}: ${detail}`);
  });
}
