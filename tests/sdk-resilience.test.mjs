// Waits, retries and failures against a real runloop-local: aborts and timeouts in the middle
// of waits, a server restart during a wait, retried and unretried statuses, undecodable
// responses, the browser rule, and memory over many calls.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  APIConnectionTimeoutError,
  APIUserAbortError,
  InternalServerError,
  NotFoundError,
  PollingTimeoutError,
  RunloopError,
  RunloopSDK,
} from 'runloop-wasm';

import { jsonResponse, recordingFetch } from './support/fetch.mjs';
import { startServer } from './support/server.mjs';

let server;
let runloop;
let devbox;

before(async () => {
  server = await startServer();
  runloop = new RunloopSDK({ baseURL: server.baseURL, bearerToken: server.token });
  devbox = await runloop.devbox.create({ name: 'resilience' });
});

after(async () => {
  await devbox?.shutdown().catch(() => {});
  await server?.stop();
});

describe('aborts and timeouts mid-wait', () => {
  test('abort ends a long poll at once', async () => {
    const controller = new AbortController();
    const wait = devbox.awaitSuspended({ signal: controller.signal });
    setTimeout(() => controller.abort(), 300);

    const started = Date.now();
    const error = await wait.catch((e) => e);

    assert.ok(error instanceof APIUserAbortError, `got ${error?.name}: ${error}`);
    assert.ok(Date.now() - started < 3_000, 'the abort cut the long poll short');
  });

  test('abort ends result() of a running command', async () => {
    const execution = await devbox.cmd.execAsync('sleep 30');
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);

    const error = await execution.result({ signal: controller.signal }).catch((e) => e);

    assert.ok(error instanceof APIUserAbortError, `got ${error?.name}: ${error}`);
    await execution.kill();
  });

  test('timeout of result() carries the last execution state', async () => {
    const execution = await devbox.cmd.execAsync('sleep 30');

    const started = Date.now();
    const error = await execution.result({ timeout: 700 }).catch((e) => e);

    assert.ok(error instanceof PollingTimeoutError, `got ${error?.name}: ${error}`);
    assert.ok(Date.now() - started < 5_000);
    assert.equal(error.lastResult?.execution_id, execution.executionId);
    assert.ok(['queued', 'running'].includes(error.lastResult.status));
    assert.match(error.message, /Timed out after 700 ms/);
    await execution.kill();
  });

  test('timeout of exec() rejects and the command keeps running', async () => {
    const error = await devbox.cmd.exec('sleep 3; echo late > late.txt', {}, { timeout: 500 })
      .catch((e) => e);

    assert.ok(error instanceof PollingTimeoutError, `got ${error?.name}: ${error}`);
    assert.ok(['queued', 'running'].includes(error.lastResult?.status));
  });

  test('snapshotDisk honours timeout and signal', async () => {
    const controller = new AbortController();
    controller.abort();

    const aborted = await devbox.snapshotDisk({ name: 'x' }, { signal: controller.signal })
      .catch((e) => e);
    const timedOut = await devbox.snapshotDisk({ name: 'y' }, { timeout: 0 }).catch((e) => e);

    assert.ok(aborted instanceof APIUserAbortError, `got ${aborted?.name}`);
    assert.ok(timedOut instanceof PollingTimeoutError, `got ${timedOut?.name}: ${timedOut}`);
  });

  test('createDevbox and awaitRunning honour an aborted signal', async () => {
    const controller = new AbortController();
    controller.abort();
    const snapshot = runloop.snapshot.fromId('snp_unused');

    const create = await snapshot.createDevbox({}, { signal: controller.signal }).catch((e) => e);
    const running = await devbox.awaitRunning({ signal: controller.signal }).catch((e) => e);

    assert.ok(create instanceof APIUserAbortError, `got ${create?.name}`);
    assert.ok(running instanceof APIUserAbortError, `got ${running?.name}`);
  });
});

describe('a fetch replacement that ignores the signal', () => {
  const hangingFetch = () => new Promise(() => {});

  test('timeout still ends the call', async () => {
    const client = new RunloopSDK({
      baseURL: 'http://127.0.0.1:1',
      bearerToken: 't',
      maxRetries: 0,
      fetch: hangingFetch,
    });

    const started = Date.now();
    const error = await client.devbox.fromId('dbx_1').getInfo({ timeout: 200 }).catch((e) => e);

    assert.ok(error instanceof APIConnectionTimeoutError, `got ${error?.name}`);
    assert.ok(Date.now() - started < 5_000, 'the timeout ended the attempt');
  });

  test('abort still ends the call', async () => {
    const client = new RunloopSDK({
      baseURL: 'http://127.0.0.1:1',
      bearerToken: 't',
      fetch: hangingFetch,
    });

    const signal = AbortSignal.timeout(200);
    const error = await client.devbox.fromId('dbx_1').getInfo({ signal }).catch((e) => e);

    assert.ok(error instanceof APIUserAbortError, `got ${error?.name}`);
  });
});

describe('server restart mid-wait', () => {
  test('the wait survives the outage and reports the new state', async () => {
    const port = await freePort();
    // The test owns the data directory, so that stopping the first server keeps it.
    const dataDir = await mkdtemp(path.join(tmpdir(), 'runloop-restart-'));
    const first = await startServer({ port, dataDir });
    let second;
    try {
      const client = new RunloopSDK({ baseURL: first.baseURL, bearerToken: first.token });
      const waiting = await client.devbox.create({ name: 'restart' });
      const wait = waiting.awaitSuspended({ timeout: 120_000 }).then(
        (view) => ({ view }),
        (error) => ({ error }),
      );

      await first.stop();
      second = await startServer({ port, dataDir, token: first.token });
      const outcome = await wait;

      // runloop-local marks devboxes of a previous run `shutdown`, which a wait for
      // `suspended` cannot leave.
      assert.ok(outcome.error instanceof RunloopError, `got ${JSON.stringify(outcome)}`);
      assert.match(outcome.error.message, /non-suspended state shutdown/);
    } finally {
      await second?.stop();
      await first.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('retries', () => {
  test('a 500 is retried with the same request id', async () => {
    let failed = false;
    const { fetch, calls } = recordingFetch((call) => {
      if (failed || !call.url.endsWith('/keep_alive')) return undefined;
      failed = true;
      return jsonResponse(500, { message: 'try again' }, { 'retry-after-ms': '20' });
    });
    const client = new RunloopSDK({ baseURL: server.baseURL, bearerToken: server.token, fetch });

    await client.devbox.fromId(devbox.id).keepAlive();

    assert.equal(calls.length, 2);
    const [first, second] = calls;
    assert.match(first.headers['x-request-id'], /\S/);
    assert.equal(second.headers['x-request-id'], first.headers['x-request-id']);
    assert.equal(first.headers['x-stainless-retry-count'], '0');
    assert.equal(second.headers['x-stainless-retry-count'], '1');
  });

  test('a 500 that persists rejects after maxRetries', async () => {
    const { fetch, calls } = recordingFetch(() =>
      jsonResponse(503, { message: 'down' }, { 'retry-after-ms': '1' }),
    );
    const client = new RunloopSDK({
      baseURL: server.baseURL,
      bearerToken: server.token,
      fetch,
      maxRetries: 2,
    });

    const error = await client.devbox.fromId(devbox.id).getInfo().catch((e) => e);

    assert.ok(error instanceof InternalServerError);
    assert.equal(error.status, 503);
    assert.equal(calls.length, 3);
  });

  test('a 404 is not retried', async () => {
    const { fetch, calls } = recordingFetch();
    const client = new RunloopSDK({ baseURL: server.baseURL, bearerToken: server.token, fetch });

    const error = await client.devbox.fromId('dbx_missing').getInfo().catch((e) => e);

    assert.ok(error instanceof NotFoundError);
    assert.equal(calls.length, 1);
  });

  test('an abort during the backoff stops the retries', async () => {
    const controller = new AbortController();
    const { fetch, calls } = recordingFetch(() => {
      setTimeout(() => controller.abort(), 50);
      return jsonResponse(503, { message: 'down' });
    });
    const client = new RunloopSDK({ baseURL: server.baseURL, bearerToken: server.token, fetch });

    const started = Date.now();
    const error = await client.devbox.fromId(devbox.id).getInfo({ signal: controller.signal })
      .catch((e) => e);

    assert.ok(error instanceof APIUserAbortError, `got ${error?.name}`);
    assert.equal(calls.length, 1);
    assert.ok(Date.now() - started < 900, 'the abort ended the one-second backoff');
  });
});

describe('undecodable responses', () => {
  test('unknown view values pass through', async () => {
    // Views that the SDK returns as they are stay forward compatible: a status or field
    // added to the API later reaches the caller instead of failing the call.
    const { fetch } = recordingFetch(async (call) => {
      if (call.method !== 'GET') return undefined;
      const view = await (await globalThis.fetch(call.url, { headers: call.headers })).json();
      return jsonResponse(200, { ...view, status: 'hibernating', new_field: { depth: 2 } });
    });
    const client = new RunloopSDK({ baseURL: server.baseURL, bearerToken: server.token, fetch });

    const info = await client.devbox.fromId(devbox.id).getInfo();

    assert.equal(info.status, 'hibernating');
    assert.deepEqual(info.new_field, { depth: 2 });
    assert.equal(info.id, devbox.id);
  });

  test('a body that is not JSON rejects', async () => {
    const { fetch } = recordingFetch(() => new Response('<html>proxy error</html>'));
    const client = new RunloopSDK({ baseURL: server.baseURL, bearerToken: server.token, fetch });

    const error = await client.devbox.fromId(devbox.id).getInfo().catch((e) => e);

    assert.ok(error instanceof RunloopError);
    assert.match(error.message, /Invalid response to GET \/v1\/devboxes\//);
  });
});

describe('browser rule', () => {
  const saved = {};

  before(() => {
    for (const name of ['document', 'location']) saved[name] = globalThis[name];
    globalThis.document = {};
    globalThis.location = { origin: 'https://app.example' };
  });

  after(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete globalThis[name];
      else globalThis[name] = value;
    }
  });

  test('a remote base URL needs dangerouslyAllowBrowser', () => {
    assert.throws(
      () => new RunloopSDK({ bearerToken: 't', baseURL: 'https://api.runloop.ai' }),
      (error) => error instanceof RunloopError && /dangerouslyAllowBrowser/.test(error.message),
    );
    const allowed = new RunloopSDK({
      bearerToken: 't',
      baseURL: 'https://api.runloop.ai',
      dangerouslyAllowBrowser: true,
    });
    assert.ok(allowed.devbox);
  });

  test('loopback and same-origin base URLs need no opt-in', () => {
    for (const baseURL of [
      'http://127.0.0.1:8080',
      'http://localhost:3000',
      'http://[::1]:9000',
      '/runloop-proxy',
      'https://app.example/api',
    ]) {
      assert.ok(new RunloopSDK({ bearerToken: 't', baseURL }).devbox, baseURL);
    }
  });
});

describe('memory', () => {
  test('2,000 getInfo calls do not grow wasm memory after warm-up', async () => {
    const require = createRequire(import.meta.url);
    const { __memoryBytes } = require('../pkg/node/runloop_wasm.js');
    const handle = runloop.devbox.fromId(devbox.id);

    for (let i = 0; i < 200; i += 1) await handle.getInfo();
    const warm = __memoryBytes();
    for (let i = 0; i < 2_000; i += 1) await handle.getInfo();
    const later = __memoryBytes();

    assert.equal(later, warm, `memory grew from ${warm} to ${later} bytes`);
  });
});

/** Returns a port on 127.0.0.1 that is free now. */
async function freePort() {
  const probe = net.createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
