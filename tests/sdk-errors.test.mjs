// The built package's error surface and entry points, with no Runloop server: refused and
// silent connections on 127.0.0.1, a missing token, a scripted `fetch`, and both module
// systems.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  ConflictError,
  InternalServerError,
  NotFoundError,
  PollingTimeoutError,
  RunloopError,
  RunloopSDK,
} from 'runloop-wasm';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Returns a port on 127.0.0.1 that nothing listens on: bound once, then closed. */
async function closedPort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Returns a `fetch` that responds to each call with `handler`'s result and records the calls. */
function scriptedFetch(handler) {
  const calls = [];
  const fetch = async (url, init) => {
    const call = { url, method: init.method, headers: init.headers, body: init.body };
    calls.push(call);
    const { status = 200, body = {}, headers = {}, delayMs = 0 } = await handler(call, calls.length);
    if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
    return new Response(JSON.stringify(body), {
      status,
      headers: { 'content-type': 'application/json', ...headers },
    });
  };
  return { fetch, calls };
}

function devboxView(status) {
  return { id: 'dbx_1', status, create_time_ms: 1, end_time_ms: null, name: null };
}

describe('connection failures', () => {
  test('refused connection rejects with APIConnectionError and its cause', async () => {
    const port = await closedPort();
    const runloop = new RunloopSDK({
      bearerToken: 't',
      baseURL: `http://127.0.0.1:${port}`,
      maxRetries: 0,
    });

    const error = await runloop.devbox.fromId('dbx_1').getInfo().catch((e) => e);

    assert.ok(error instanceof APIConnectionError, `got ${error?.constructor?.name}: ${error}`);
    assert.ok(error instanceof APIError);
    assert.ok(error instanceof RunloopError);
    assert.ok(error instanceof Error);
    assert.equal(error.name, 'APIConnectionError');
    assert.equal(error.status, undefined);
    assert.match(error.message, /^Connection error: /);
    assert.match(error.message, /ECONNREFUSED/);
    assert.ok(error.cause instanceof Error, 'cause is the error fetch rejected with');
    assert.equal(error.cause.cause?.code, 'ECONNREFUSED');
    assert.match(error.stack, /APIConnectionError/);
  });

  test('silent server rejects with APIConnectionTimeoutError', async () => {
    const sockets = [];
    const server = net.createServer((socket) => sockets.push(socket));
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const runloop = new RunloopSDK({
        bearerToken: 't',
        baseURL: `http://127.0.0.1:${server.address().port}`,
        maxRetries: 0,
      });

      const started = Date.now();
      const error = await runloop.devbox.fromId('dbx_1').getInfo({ timeout: 200 }).catch((e) => e);

      assert.ok(error instanceof APIConnectionTimeoutError, `got ${error?.constructor?.name}`);
      assert.ok(error instanceof APIConnectionError);
      assert.match(error.message, /timed out after 200 ms/);
      assert.ok(Date.now() - started < 5_000, 'the timeout cut the request short');
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('aborted signal rejects with APIUserAbortError', async () => {
    const { fetch, calls } = scriptedFetch(() => ({ body: devboxView('running') }));
    const runloop = new RunloopSDK({ bearerToken: 't', baseURL: 'http://127.0.0.1:1', fetch });
    const controller = new AbortController();
    controller.abort();

    const error = await runloop.devbox
      .fromId('dbx_1')
      .getInfo({ signal: controller.signal })
      .catch((e) => e);

    assert.ok(error instanceof APIUserAbortError, `got ${error?.constructor?.name}`);
    assert.equal(calls.length, 0);
  });
});

describe('configuration', () => {
  const saved = {};
  before(() => {
    for (const name of ['RUNLOOP_API_KEY', 'RUNLOOP_BASE_URL']) saved[name] = process.env[name];
  });
  after(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  test('missing token throws a clear RunloopError', () => {
    delete process.env.RUNLOOP_API_KEY;

    assert.throws(
      () => new RunloopSDK(),
      (error) =>
        error instanceof RunloopError &&
        /bearerToken/.test(error.message) &&
        /RUNLOOP_API_KEY/.test(error.message),
    );
    assert.throws(() => new RunloopSDK({ baseURL: 'http://127.0.0.1:1' }), RunloopError);
  });

  test('token and base URL come from the environment', async () => {
    const port = await closedPort();
    process.env.RUNLOOP_API_KEY = 'from-env';
    process.env.RUNLOOP_BASE_URL = `  http://127.0.0.1:${port}  `;
    const runloop = new RunloopSDK({ maxRetries: 0 });

    const error = await runloop.devbox.fromId('dbx_1').getInfo().catch((e) => e);

    assert.ok(error instanceof APIConnectionError);
    assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
  });

  test('wrong option types throw RunloopError naming the option', () => {
    assert.throws(
      () => new RunloopSDK({ bearerToken: 't', maxRetries: 'many' }),
      (error) => error instanceof RunloopError && /maxRetries/.test(error.message),
    );
    assert.throws(
      () => new RunloopSDK({ bearerToken: 't', timeout: -1 }),
      (error) => error instanceof RunloopError && /timeout/.test(error.message),
    );
  });
});

describe('scripted fetch', () => {
  test('requests carry auth, JSON and one idempotency key per call', async () => {
    const { fetch, calls } = scriptedFetch((call, count) =>
      count === 1
        ? { status: 503, body: { message: 'busy' }, headers: { 'retry-after-ms': '5' } }
        : { body: devboxView('shutdown') },
    );
    const runloop = new RunloopSDK({ bearerToken: 'secret', baseURL: 'http://api.test/', fetch });

    const view = await runloop.devbox.fromId('dbx_1').shutdown();

    assert.equal(view.status, 'shutdown');
    assert.equal(view.end_time_ms, null);
    assert.equal(calls.length, 2);
    assert.equal(calls[0].url, 'http://api.test/v1/devboxes/dbx_1/shutdown');
    assert.equal(calls[0].method, 'POST');
    assert.equal(calls[0].headers.authorization, 'Bearer secret');
    assert.equal(calls[0].headers['content-type'], 'application/json');
    assert.match(calls[0].headers['x-request-id'], /\S/);
    assert.equal(calls[1].headers['x-request-id'], calls[0].headers['x-request-id']);
    assert.equal(calls[0].headers['x-stainless-retry-count'], '0');
    assert.equal(calls[1].headers['x-stainless-retry-count'], '1');
  });

  test('statuses map to error classes with the response details', async () => {
    const cases = [
      [404, NotFoundError],
      [409, ConflictError],
      [500, InternalServerError],
      [418, APIError],
    ];
    for (const [status, ErrorClass] of cases) {
      const { fetch } = scriptedFetch(() => ({
        status,
        body: { message: `status ${status}` },
        headers: { 'x-request-id': `req_${status}` },
      }));
      const runloop = new RunloopSDK({ bearerToken: 't', baseURL: 'http://api.test', fetch, maxRetries: 0 });

      const error = await runloop.devbox.fromId('dbx_1').getInfo().catch((e) => e);

      assert.ok(error instanceof ErrorClass, `${status}: got ${error?.constructor?.name}`);
      assert.equal(error.name, ErrorClass.name);
      assert.equal(error.status, status);
      assert.equal(error.message, `${status} status ${status}`);
      assert.equal(error.requestId, `req_${status}`);
      assert.deepEqual(error.body, { message: `status ${status}` });
      assert.equal(error.headers['x-request-id'], `req_${status}`);
    }
  });

  test('wait timeout rejects with PollingTimeoutError and the last state', async () => {
    const { fetch, calls } = scriptedFetch((call) =>
      call.url.endsWith('/create_and_await_running')
        ? { body: devboxView('provisioning') }
        : { status: 408, body: { message: 'not yet' }, delayMs: 50 },
    );
    const runloop = new RunloopSDK({ bearerToken: 't', baseURL: 'http://api.test', fetch });

    const error = await runloop.devbox.create({ name: 'slow' }, { timeout: 300 }).catch((e) => e);

    assert.ok(error instanceof PollingTimeoutError, `got ${error?.constructor?.name}: ${error}`);
    assert.ok(error instanceof RunloopError);
    assert.match(error.message, /devbox dbx_1 to be running/);
    assert.equal(error.lastResult?.status, 'provisioning');
    assert.deepEqual(JSON.parse(calls[0].body), { name: 'slow' });
    assert.ok(calls.length >= 2, 'the wait long-polled at least once');
  });

  test('invalid params reject with RunloopError naming the field', async () => {
    const { fetch, calls } = scriptedFetch(() => ({ body: devboxView('running') }));
    const runloop = new RunloopSDK({ bearerToken: 't', baseURL: 'http://api.test', fetch });

    const error = await runloop.devbox
      .create({ launch_parameters: { resource_size_request: 'HUGE' } })
      .catch((e) => e);

    assert.ok(error instanceof RunloopError);
    assert.match(error.message, /params\.launch_parameters\.resource_size_request/);
    assert.match(error.message, /HUGE/);
    assert.equal(calls.length, 0);
  });

  test('namespaces are stable objects', () => {
    const runloop = new RunloopSDK({ bearerToken: 't', baseURL: 'http://api.test' });
    const devbox = runloop.devbox.fromId('dbx_1');

    assert.equal(runloop.devbox, runloop.devbox);
    assert.equal(runloop.snapshot, runloop.snapshot);
    assert.equal(devbox.cmd, devbox.cmd);
    assert.equal(devbox.file, devbox.file);
    assert.equal(devbox.id, 'dbx_1');
    assert.equal(runloop.snapshot.fromId('snp_1').info, undefined);
  });
});

describe('argument types', () => {
  /** Returns an SDK whose requests all go to a scripted `fetch` that responds with `body`. */
  function scriptedSdk(body) {
    const { fetch, calls } = scriptedFetch(() => ({ body }));
    const runloop = new RunloopSDK({ bearerToken: 't', baseURL: 'http://api.test', fetch });
    return { runloop, calls };
  }

  const completed = {
    execution_id: 'exe_1',
    devbox_id: 'dbx_1',
    status: 'completed',
    exit_status: 0,
    stdout: 'one\ntwo\n',
    stderr: 'oops\n',
  };

  test('non-string ids and commands reject or throw RunloopError', async () => {
    const { runloop, calls } = scriptedSdk(completed);
    const devbox = runloop.devbox.fromId('dbx_1');
    const cases = [
      ['cmd.exec(42)', () => devbox.cmd.exec(42), /Invalid command: expected a string, got number/],
      [
        'cmd.exec({ command })',
        () => devbox.cmd.exec({ command: 'echo' }),
        /Invalid command: .* got object/,
      ],
      ['cmd.exec(null)', () => devbox.cmd.exec(null), /Invalid command: .* got null/],
      ['cmd.exec()', () => devbox.cmd.exec(), /Invalid command: .* got undefined/],
      ['cmd.execAsync(42)', () => devbox.cmd.execAsync(42), /Invalid command: .* got number/],
      ['devbox.fromId(42)', () => runloop.devbox.fromId(42), /Invalid id: .* got number/],
      ['devbox.fromId()', () => runloop.devbox.fromId(), /Invalid id: .* got undefined/],
      ['snapshot.fromId(7)', () => runloop.snapshot.fromId(7), /Invalid id: .* got number/],
      [
        'devbox.createFromSnapshot(1)',
        () => runloop.devbox.createFromSnapshot(1),
        /Invalid snapshot_id: .* got number/,
      ],
      ['api.devboxes.retrieve(5)', () => runloop.api.devboxes.retrieve(5), /Invalid id: /],
      [
        'api.devboxes.downloadFile(5)',
        () => runloop.api.devboxes.downloadFile(5, { path: 'a' }),
        /Invalid id: /,
      ],
      [
        'api.devboxes.executions.retrieve',
        () => runloop.api.devboxes.executions.retrieve('dbx_1', 9),
        /Invalid execution_id: .* got number/,
      ],
      [
        'api.devboxes.executions.streamStdoutUpdates',
        () => runloop.api.devboxes.executions.streamStdoutUpdates(true, 'exe_1'),
        /Invalid devbox_id: .* got boolean/,
      ],
      [
        'api.devboxes.diskSnapshots.delete',
        () => runloop.api.devboxes.diskSnapshots.delete(1),
        /Invalid id: /,
      ],
    ];

    for (const [name, call, message] of cases) {
      let error;
      try {
        error = await call().then(
          () => undefined,
          (rejection) => rejection,
        );
      } catch (thrown) {
        error = thrown;
      }
      assert.ok(error instanceof RunloopError, `${name}: got ${error}`);
      assert.match(error.message, message, name);
    }
    assert.equal(calls.length, 0, 'no request was sent');

    const result = await devbox.cmd.exec('echo');
    assert.equal(await result.stdout(1), 'two', 'the SDK still works afterwards');
  });

  test('promise methods reject instead of throwing', () => {
    const { runloop } = scriptedSdk(completed);
    const promise = runloop.devbox.fromId('dbx_1').cmd.exec(42);

    assert.ok(promise instanceof Promise);
    return assert.rejects(promise, RunloopError);
  });

  test('invalid numLines rejects naming numLines', async () => {
    const { runloop } = scriptedSdk(completed);
    const result = await runloop.devbox.fromId('dbx_1').cmd.exec('echo');

    for (const numLines of [-1, 1.5, NaN, '2']) {
      const error = await result.stdout(numLines).catch((e) => e);
      assert.ok(error instanceof RunloopError, `stdout(${numLines}): got ${error}`);
      assert.match(error.message, /numLines/, `stdout(${numLines})`);
      const stderrError = await result.stderr(numLines).catch((e) => e);
      assert.ok(stderrError instanceof RunloopError, `stderr(${numLines}): got ${stderrError}`);
    }
    assert.equal(await result.stdout(0), '');
    assert.equal(await result.stdout(Infinity), 'one\ntwo');
    assert.equal(await result.stderr(1), 'oops');
  });

  test('invalid baseURL throws naming baseURL', () => {
    for (const baseURL of ['not a url', 'ftp://x', 'http://', '/relative']) {
      assert.throws(
        () => new RunloopSDK({ bearerToken: 't', baseURL }),
        (error) => error instanceof RunloopError && /baseURL/.test(error.message),
        baseURL,
      );
    }
    assert.ok(new RunloopSDK({ bearerToken: 't', baseURL: 'HTTPS://api.test/prefix/' }));
  });
});

describe('module systems', () => {
  test('require and import expose the same classes', () => {
    const require = createRequire(import.meta.url);
    const cjs = require('runloop-wasm');

    assert.equal(cjs.RunloopSDK, RunloopSDK);
    assert.equal(cjs.NotFoundError, NotFoundError);
    assert.equal(cjs.PollingTimeoutError, PollingTimeoutError);
    assert.equal(cjs.__registerErrorClasses, undefined);
  });

  test('a CommonJS program loads the package on its own', () => {
    const program = `
      const sdk = require('runloop-wasm');
      const names = ['RunloopSDK', 'Devbox', 'Snapshot', 'ExecutionResult', 'RunloopError',
        'APIError', 'NotFoundError', 'APIConnectionError', 'PollingTimeoutError'];
      const missing = names.filter((name) => typeof sdk[name] !== 'function');
      if (missing.length) throw new Error('missing exports: ' + missing.join(', '));
      process.stdout.write('ok');
    `;

    const result = spawnSync(process.execPath, ['-e', program], { cwd: repoRoot, encoding: 'utf8' });

    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, 'ok');
  });

  test('an ES module program loads the package on its own', () => {
    const program = `
      import { RunloopSDK, NotFoundError } from 'runloop-wasm';
      if (typeof RunloopSDK !== 'function' || typeof NotFoundError !== 'function') process.exit(1);
      process.stdout.write('ok');
    `;

    const result = spawnSync(process.execPath, ['--input-type=module', '-e', program], {
      cwd: repoRoot,
      encoding: 'utf8',
    });

    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, 'ok');
  });
});
