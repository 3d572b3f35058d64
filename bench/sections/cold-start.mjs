// Figure 4: cold start, from the start of `import` to the first request on the wire, with
// each sample in a fresh Node process (cold-start-child.mjs). The children connect through a
// TCP relay in this process, which records when the first bytes of a connection arrive. That
// is when the request was sent, with HTTP/1.1 and with h2c alike.

import { execFile } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { rotate, summarize } from '../lib/stats.mjs';

const execFileAsync = promisify(execFile);
const childScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cold-start-child.mjs');
const clientNames = ['ours', 'official', 'officialHttp1', 'floor'];

/** Measures cold start; returns table rows. */
export async function runColdStart({ api, server, smoke, log }) {
  const devbox = await api.createDevbox({ name: 'bench-cold-start' });
  const relay = await startRelay(new URL(server.baseURL));
  const rounds = smoke ? 2 : 12;
  const samples = Object.fromEntries(clientNames.map((name) => [name, []]));

  try {
    log(`cold start: ${rounds} fresh processes per client`);
    for (let round = 0; round < rounds; round++) {
      for (const name of rotate(clientNames, round)) {
        relay.reset();
        const { stdout } = await execFileAsync(process.execPath, [childScript, name], {
          env: {
            ...process.env,
            BENCH_BASE_URL: relay.baseURL,
            BENCH_TOKEN: server.token,
            BENCH_DEVBOX: devbox.id,
          },
        });
        const timings = JSON.parse(stdout);
        if (relay.firstByteEpochMs === undefined) {
          throw new Error(`the ${name} cold-start child sent no bytes through the relay`);
        }
        samples[name].push({
          ...timings,
          firstRequestMs: relay.firstByteEpochMs - timings.importStartEpochMs,
        });
      }
    }
  } finally {
    relay.close();
    await api.shutdown(devbox.id);
  }

  const cells = (field, { floor = true } = {}) =>
    Object.fromEntries(
      clientNames
        .filter((name) => floor || name !== 'floor')
        .map((name) => [name, summarize(samples[name].map((sample) => sample[field]))]),
    );

  return [
    {
      id: '4',
      key: 'cold-start-request',
      figure: 'cold start: import() to first request sent',
      unit: 'ms',
      better: 'lower',
      floorLabel: 'first fetch, no import',
      cells: cells('firstRequestMs'),
    },
    {
      id: '4',
      key: 'cold-start-response',
      figure: 'cold start: import() to first getInfo response',
      unit: 'ms',
      better: 'lower',
      floorLabel: 'first fetch, no import',
      cells: cells('firstResponseMs'),
    },
    {
      id: '4',
      key: 'import',
      figure: 'import() + constructing the client',
      unit: 'ms',
      better: 'lower',
      cells: cells('importMs', { floor: false }),
    },
  ];
}

/** Starts a TCP relay to `target` on a free port that notes the first byte of each reset. */
async function startRelay(target) {
  const state = { firstByteEpochMs: undefined };
  const sockets = new Set();

  const relayServer = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.once('data', () => {
      state.firstByteEpochMs ??= performance.timeOrigin + performance.now();
    });
    client.pipe(upstream);
    upstream.pipe(client);
  });

  await new Promise((resolve) => relayServer.listen(0, '127.0.0.1', resolve));
  const { port } = relayServer.address();

  return {
    baseURL: `http://127.0.0.1:${port}`,
    get firstByteEpochMs() {
      return state.firstByteEpochMs;
    },
    reset() {
      state.firstByteEpochMs = undefined;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      relayServer.close();
    },
  };
}
