// The disk snapshot workflow through the built package against a real runloop-local:
// each step's value is asserted, and failing calls reject with the right error class.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  APIError,
  AuthenticationError,
  ConflictError,
  NotFoundError,
  RunloopError,
  RunloopSDK,
} from 'runloop-wasm';

import { runSnapshotWorkflow } from '../examples/snapshot-workflow.mjs';
import { startServer } from './support/server.mjs';

let server;
let runloop;

before(async () => {
  server = await startServer();
  runloop = new RunloopSDK({ baseURL: server.baseURL, bearerToken: server.token });
});

after(async () => {
  await server?.stop();
});

describe('snapshot workflow', () => {
  const devboxes = [];

  after(async () => {
    await Promise.allSettled(devboxes.map((devbox) => devbox.shutdown()));
  });

  test('seven steps, each value checked', async () => {
    // 1. Create a devbox and wait until it is running.
    const source = await runloop.devbox.create({ name: 'workflow-source' });
    devboxes.push(source);
    assert.match(source.id, /\S/);
    const sourceInfo = await source.getInfo();
    assert.equal(sourceInfo.status, 'running');
    assert.equal(sourceInfo.name, 'workflow-source');

    // 2. Write hello.txt with a shell command.
    const write = await source.cmd.exec("echo 'Hello, World!' > hello.txt");
    assert.equal(write.exitCode, 0);
    assert.equal(write.success, true);
    assert.equal(await write.stdout(), '');
    const check = await source.cmd.exec('cat hello.txt');
    assert.equal(await check.stdout(), 'Hello, World!\n');

    // 3. Take a disk snapshot and wait for it to complete.
    const snapshot = await source.snapshotDisk({ name: 'first', metadata: { step: '3' } });
    const status = await snapshot.queryStatus();
    assert.equal(status.status, 'complete');
    assert.equal(status.snapshot.id, snapshot.id);
    assert.equal(status.snapshot.source_devbox_id, source.id);
    assert.equal(status.snapshot.name, 'first');
    assert.deepEqual(status.snapshot.metadata, { step: '3' });

    // 4. Create a new devbox from the snapshot.
    const restored = await snapshot.createDevbox({ name: 'workflow-restored' });
    devboxes.push(restored);
    assert.notEqual(restored.id, source.id);
    const restoredInfo = await restored.getInfo();
    assert.equal(restoredInfo.status, 'running');
    assert.equal(restoredInfo.snapshot_id, snapshot.id);

    // 5. Read hello.txt there.
    assert.equal(await restored.file.read({ file_path: 'hello.txt' }), 'Hello, World!\n');
    assert.equal(await restored.file.read('hello.txt'), 'Hello, World!\n');

    // 6. A second snapshot, asynchronously: the id comes at once, then the wait.
    const asyncSnapshot = await source.snapshotDiskAsync({ name: 'second' });
    assert.match(asyncSnapshot.id, /\S/);
    assert.notEqual(asyncSnapshot.id, snapshot.id);
    const completed = await asyncSnapshot.awaitCompleted({ timeout: 60_000 });
    assert.equal(completed.status, 'complete');
    assert.equal(completed.snapshot.name, 'second');

    // 7. List by devbox, delete all but the newest, delete one more, shut down.
    const listed = await runloop.snapshot.list({ devbox_id: source.id });
    assert.deepEqual(listed.map((s) => s.id).sort(), [snapshot.id, asyncSnapshot.id].sort());
    for (const item of listed) assert.equal(item.info.source_devbox_id, source.id);

    const newestFirst = [...listed].sort((a, b) => b.info.create_time_ms - a.info.create_time_ms);
    for (const old of newestFirst.slice(1)) await old.delete();
    const afterPrune = await runloop.snapshot.list({ devbox_id: source.id });
    assert.deepEqual(afterPrune.map((s) => s.id), [asyncSnapshot.id]);

    await asyncSnapshot.delete();
    assert.deepEqual(await runloop.snapshot.list({ devbox_id: source.id }), []);
    await assert.rejects(asyncSnapshot.queryStatus(), NotFoundError);

    // The restored devbox still reads its file after its snapshot was deleted.
    assert.equal(await restored.file.read('hello.txt'), 'Hello, World!\n');

    await source.shutdown();
    await restored.shutdown();
    assert.equal((await source.getInfo()).status, 'shutdown');
    assert.equal((await restored.getInfo()).status, 'shutdown');
  });

  test('example script runs end to end', async () => {
    const steps = [];
    const result = await runSnapshotWorkflow(runloop, (step) => steps.push(step));

    assert.equal(result.sourceStatus, 'running');
    assert.equal(result.writeExitCode, 0);
    assert.equal(result.snapshotStatus, 'complete');
    assert.equal(result.restoredStatus, 'running');
    assert.equal(result.contents, 'Hello, World!\n');
    assert.equal(result.asyncStatus, 'complete');
    assert.equal(result.listedIds.length, 2);
    assert.deepEqual([...result.deletedIds].sort(), [...result.listedIds].sort());
    assert.equal(result.remainingCount, 0);
    assert.deepEqual(result.finalStatuses, ['shutdown', 'shutdown']);
    assert.ok(steps.length >= 7, `expected at least 7 logged steps, got ${steps.length}`);
  });
});

describe('errors', () => {
  test('unknown devbox rejects with NotFoundError', async () => {
    const error = await runloop.devbox.fromId('dbx_does_not_exist').getInfo().catch((e) => e);
    assert.ok(error instanceof NotFoundError, `got ${error?.constructor?.name}: ${error}`);
    assert.ok(error instanceof APIError);
    assert.ok(error instanceof RunloopError);
    assert.ok(error instanceof Error);
    assert.equal(error.status, 404);
    assert.match(error.message, /^404 /);
    assert.match(error.stack ?? '', /NotFoundError|Error/);
  });

  test('wrong token rejects with AuthenticationError', async () => {
    const stranger = new RunloopSDK({ baseURL: server.baseURL, bearerToken: 'wrong-token' });
    const error = await stranger.devbox.create().catch((e) => e);
    assert.ok(error instanceof AuthenticationError, `got ${error?.constructor?.name}: ${error}`);
    assert.equal(error.status, 401);
  });

  test('exec on shut-down devbox rejects with ConflictError', async () => {
    // 409 is retryable for Runloop clients, so this client does not retry.
    const noRetry = new RunloopSDK({
      baseURL: server.baseURL,
      bearerToken: server.token,
      maxRetries: 0,
    });
    const devbox = await noRetry.devbox.create();
    await devbox.shutdown();
    const error = await devbox.cmd.exec('true').catch((e) => e);
    assert.ok(error instanceof ConflictError, `got ${error?.constructor?.name}: ${error}`);
    assert.equal(error.status, 409);
    assert.match(error.message, /shut/i);
  });
});
