// runloop.devbox and Devbox against a real runloop-local: creation, lifecycle (suspend,
// resume, keep-alive, shutdown), logs and listing.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { ConflictError, Devbox, NotFoundError, RunloopError, RunloopSDK } from 'runloop-wasm';

import { startServer } from './support/server.mjs';

let server;
let runloop;
const devboxes = [];

before(async () => {
  server = await startServer();
  runloop = new RunloopSDK({ baseURL: server.baseURL, bearerToken: server.token });
});

after(async () => {
  await Promise.allSettled(devboxes.map((devbox) => devbox.shutdown({ force: true })));
  await server?.stop();
});

async function created(params) {
  const devbox = await runloop.devbox.create(params);
  devboxes.push(devbox);
  return devbox;
}

describe('devbox lifecycle', () => {
  test('create resolves with a running devbox', async () => {
    const devbox = await created({ name: 'life', metadata: { team: 'a' } });

    assert.ok(devbox instanceof Devbox);
    assert.match(devbox.id, /\S/);
    const info = await devbox.getInfo();
    assert.equal(info.status, 'running');
    assert.equal(info.name, 'life');
    assert.deepEqual(info.metadata, { team: 'a' });
    assert.equal(typeof info.create_time_ms, 'number');
    assert.equal(info.end_time_ms, null);
    assert.equal((await devbox.awaitRunning({ timeout: 10_000 })).status, 'running');
  });

  test('fromId sends no request and reads the same devbox', async () => {
    const devbox = await created();

    const same = runloop.devbox.fromId(devbox.id);

    assert.equal(same.id, devbox.id);
    assert.equal((await same.getInfo()).id, devbox.id);
  });

  test('suspend, awaitSuspended, resume', async () => {
    const devbox = await created();

    const suspending = await devbox.suspend();
    assert.ok(['suspending', 'suspended'].includes(suspending.status), suspending.status);
    const suspended = await devbox.awaitSuspended({ timeout: 30_000 });
    assert.equal(suspended.status, 'suspended');
    const resumed = await devbox.resume({ timeout: 30_000 });
    assert.equal(resumed.status, 'running');

    const result = await devbox.cmd.exec('echo back');
    assert.equal(await result.stdout(), 'back\n');
  });

  test('resumeAsync then awaitRunning', async () => {
    const devbox = await created();
    await devbox.suspend();
    await devbox.awaitSuspended({ timeout: 30_000 });

    const resuming = await devbox.resumeAsync();

    assert.ok(['resuming', 'running'].includes(resuming.status), resuming.status);
    assert.equal((await devbox.awaitRunning({ timeout: 30_000 })).status, 'running');
  });

  test('keepAlive resolves', async () => {
    const devbox = await created();

    const response = await devbox.keepAlive();

    assert.notEqual(response, null);
    assert.equal((await devbox.getInfo()).status, 'running');
  });

  test('shutdown force while a snapshot runs', async () => {
    const devbox = await created();
    const noRetry = new RunloopSDK({
      baseURL: server.baseURL,
      bearerToken: server.token,
      maxRetries: 0,
    });
    await devbox.cmd.exec('head -c 20000000 /dev/urandom > big.bin');
    const snapshot = await devbox.snapshotDiskAsync({ name: 'in-flight' });

    const plain = await noRetry.devbox.fromId(devbox.id).shutdown().catch((error) => error);
    const forced = await devbox.shutdown({ force: true });

    assert.equal(forced.status, 'shutdown');
    // The capture may finish before the plain shutdown arrives; then it succeeds.
    if (plain instanceof Error) assert.ok(plain instanceof ConflictError, String(plain));
    const status = await snapshot.queryStatus().catch((error) => error);
    assert.ok(status instanceof NotFoundError || ['error', 'complete'].includes(status.status));
  });

  test('awaitRunning on a shut-down devbox rejects', async () => {
    const devbox = await created();
    await devbox.shutdown();

    const error = await devbox.awaitRunning({ timeout: 10_000 }).catch((e) => e);

    assert.ok(error instanceof RunloopError, String(error));
    assert.match(error.message, /non-running state shutdown/);
  });

  test('logs list the commands run', async () => {
    const devbox = await created();
    const result = await devbox.cmd.exec('echo logged');

    const all = await devbox.logs();
    const one = await devbox.logs({ execution_id: result.executionId });

    assert.ok(Array.isArray(all.logs));
    assert.ok(all.logs.some((entry) => entry.cmd === 'echo logged'), JSON.stringify(all));
    assert.ok(one.logs.length > 0);
    for (const entry of one.logs) {
      assert.equal(typeof entry.timestamp_ms, 'number');
      assert.equal(entry.cmd_id, result.executionId);
    }
  });

  test('create rejects invalid params naming the field', async () => {
    const error = await runloop.devbox
      .create({ launch_parameters: { keep_alive_time_seconds: 'long' } })
      .catch((e) => e);

    assert.ok(error instanceof RunloopError);
    assert.match(error.message, /params\.launch_parameters\.keep_alive_time_seconds/);
  });
});

describe('devbox list', () => {
  test('await gives the first page, for await gives every page', async () => {
    const ids = [];
    for (let i = 0; i < 3; i += 1) ids.push((await created({ name: `listed-${i}` })).id);

    const firstPage = await runloop.devbox.list({ limit: 2 });
    const everything = [];
    for await (const devbox of runloop.devbox.list({ limit: 2 })) everything.push(devbox.id);

    assert.equal(firstPage.length, 2);
    assert.ok(firstPage.every((devbox) => devbox instanceof Devbox));
    for (const id of ids) assert.ok(everything.includes(id), `${id} listed`);
    assert.equal(new Set(everything).size, everything.length, 'no devbox listed twice');
  });

  test('status filter', async () => {
    const gone = await created();
    await gone.shutdown();

    const running = [];
    for await (const devbox of runloop.devbox.list({ status: 'running' })) running.push(devbox.id);
    const shutdown = [];
    for await (const devbox of runloop.devbox.list({ status: 'shutdown' })) shutdown.push(devbox.id);

    assert.ok(!running.includes(gone.id));
    assert.ok(shutdown.includes(gone.id));
  });

  test('fetchPage reports the cursor of the next page', async () => {
    await created();
    await created();

    const list = runloop.devbox.list({ limit: 1 });
    const first = await list.fetchPage(null);
    const second = await list.fetchPage(first.nextCursor);

    assert.equal(first.items.length, 1);
    assert.equal(typeof first.nextCursor, 'string');
    assert.notEqual(second.items[0].id, first.items[0].id);
  });
});
