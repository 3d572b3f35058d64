// Figures 1 and 2: per-call latency of `getInfo` and the round trip of `cmd.exec('true')`,
// every client in this process against one running devbox, interleaved round-robin.

import { interleave, summarize } from '../lib/stats.mjs';

const clientNames = ['ours', 'official', 'officialHttp1', 'floor'];

/** Measures getInfo and exec latency; returns table rows. */
export async function runLatency({ api, clients, smoke, log }) {
  const devbox = await api.createDevbox({ name: 'bench-latency' });

  try {
    log(`latency: getInfo on ${devbox.id}`);
    const getInfo = await interleave(
      Object.fromEntries(
        clientNames.map((name) => [
          name,
          async () => {
            const view = await clients[name].getInfo(devbox.id);
            if (view.id !== devbox.id) {
              throw new Error(`${name} getInfo returned devbox ${view.id}, expected ${devbox.id}`);
            }
          },
        ]),
      ),
      { reps: smoke ? 20 : 400, warmup: smoke ? 3 : 30 },
    );

    log('latency: cmd.exec("true")');
    const exec = await interleave(
      Object.fromEntries(
        clientNames.map((name) => [
          name,
          async () => {
            const { exitCode } = await clients[name].exec(devbox.id, 'true');
            if (exitCode !== 0) throw new Error(`${name} exec('true') exited with ${exitCode}`);
          },
        ]),
      ),
      { reps: smoke ? 5 : 80, warmup: smoke ? 1 : 5 },
    );

    return [
      row('1', 'getInfo', 'getInfo latency', getInfo, 'raw fetch + JSON.parse'),
      row(
        '2',
        'exec',
        "cmd.exec('true') round trip",
        exec,
        'raw fetch: POST execute (+ wait_for_status)',
      ),
    ];
  } finally {
    await api.shutdown(devbox.id);
  }
}

function row(id, key, figure, samples, floorLabel) {
  return {
    id,
    key,
    figure,
    unit: 'ms',
    better: 'lower',
    floorLabel,
    cells: Object.fromEntries(clientNames.map((name) => [name, summarize(samples[name])])),
  };
}
