// runloop.api, the raw endpoints, against a real runloop-local: each method sends its request
// and resolves with the wire view.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { RunloopSDK } from 'runloop-wasm';

import { recordingFetch } from './support/fetch.mjs';
import { startServer } from './support/server.mjs';

let server;
let runloop;
let calls;
let devboxId;

before(async () => {
  server = await startServer();
  const recorder = recordingFetch();
  calls = recorder.calls;
  runloop = new RunloopSDK({
    baseURL: server.baseURL,
    bearerToken: server.token,
    fetch: recorder.fetch,
  });
  devboxId = (await runloop.api.devboxes.createAndAwaitRunning({ name: 'raw' })).id;
});

after(async () => {
  await runloop?.api.devboxes.shutdown(devboxId, { force: true }).catch(() => {});
  await server?.stop();
});

/** Returns the last request sent. */
function lastCall() {
  return calls.at(-1);
}

describe('api.devboxes', () => {
  test('create, retrieve, update, list, waits', async () => {
    const created = await runloop.api.devboxes.create({ name: 'raw-create' });
    const running = await runloop.api.devboxes.awaitRunning(created.id, { timeout: 60_000 });
    const updated = await runloop.api.devboxes.update(created.id, { metadata: { k: 'v' } });
    const retrieved = await runloop.api.devboxes.retrieve(created.id);
    const page = await runloop.api.devboxes.list({ limit: 1 });
    const waited = await runloop.api.devboxes.waitForStatus(created.id, { statuses: ['running'] });
    const shut = await runloop.api.devboxes.shutdown(created.id);

    assert.equal(running.status, 'running');
    assert.deepEqual(updated.metadata, { k: 'v' });
    assert.equal(retrieved.id, created.id);
    assert.equal(page.devboxes.length, 1);
    assert.equal(typeof page.has_more, 'boolean');
    assert.equal(waited.status, 'running');
    assert.equal(shut.status, 'shutdown');
  });

  test('suspend, awaitSuspended, resume, keepAlive, usage', async () => {
    await runloop.api.devboxes.suspend(devboxId);
    const suspended = await runloop.api.devboxes.awaitSuspended(devboxId, { timeout: 30_000 });
    await runloop.api.devboxes.resume(devboxId);
    const running = await runloop.api.devboxes.awaitRunning(devboxId, { timeout: 30_000 });
    await runloop.api.devboxes.keepAlive(devboxId);
    const usage = await runloop.api.devboxes.retrieveResourceUsage(devboxId);

    assert.equal(suspended.status, 'suspended');
    assert.equal(running.status, 'running');
    assert.equal(usage.id, devboxId);
    assert.equal(typeof usage.total_elapsed_seconds, 'number');
  });

  test('shutdown force is sent as a query', async () => {
    const created = await runloop.api.devboxes.createAndAwaitRunning({});

    await runloop.api.devboxes.shutdown(created.id, { force: true });

    assert.match(lastCall().url, /\/shutdown\?force=true$/);
  });

  test('execute fills command_id and last_n', async () => {
    const view = await runloop.api.devboxes.execute(devboxId, {
      command: 'seq 1 10',
      last_n: 2,
    });

    const body = JSON.parse(lastCall().body);
    assert.match(body.command_id, /^[0-9a-f]{8}-[0-9a-f]{4}-7/);
    assert.equal(body.last_n, undefined);
    assert.match(lastCall().url, /\/execute\?last_n=2$/);
    assert.equal(view.status, 'completed');
    assert.equal(view.stdout, '9\n10\n');
  });

  test('executeAsync, waitForCommand, executeAndAwaitCompletion, executeSync', async () => {
    const started = await runloop.api.devboxes.executeAsync(devboxId, { command: 'echo async' });
    const waited = await runloop.api.devboxes.waitForCommand(devboxId, started.execution_id, {
      statuses: ['completed'],
    });
    const awaited = await runloop.api.devboxes.executeAndAwaitCompletion(devboxId, {
      command: 'echo awaited',
    });
    const sync = await runloop.api.devboxes.executeSync(devboxId, { command: 'echo sync' });

    assert.equal(waited.stdout, 'async\n');
    assert.equal(awaited.stdout, 'awaited\n');
    assert.equal(sync.exit_status, 0);
    assert.equal(sync.stdout, 'sync\n');
  });

  test('file endpoints', async () => {
    const written = await runloop.api.devboxes.writeFileContents(devboxId, {
      file_path: 'raw.txt',
      contents: 'raw text',
    });
    const text = await runloop.api.devboxes.readFileContents(devboxId, { file_path: 'raw.txt' });
    await runloop.api.devboxes.uploadFile(devboxId, {
      path: 'raw.bin',
      file: new Uint8Array([9, 8, 7]),
    });
    const bytes = await runloop.api.devboxes.downloadFile(devboxId, { path: 'raw.bin' });
    const blob = await runloop.api.devboxes.downloadFile(devboxId, { path: 'raw.bin' }, { as: 'blob' });

    assert.equal(written.exit_status, 0);
    assert.equal(text, 'raw text');
    assert.deepEqual([...bytes], [9, 8, 7]);
    assert.equal(blob.size, 3);
  });

  test('snapshot endpoints', async () => {
    const sync = await runloop.api.devboxes.snapshotDisk(devboxId, { name: 'raw-sync' });
    const started = await runloop.api.devboxes.snapshotDiskAsync(devboxId, { name: 'raw-async' });
    const done = await runloop.api.devboxes.diskSnapshots.awaitCompleted(started.id, {
      timeout: 60_000,
    });
    const status = await runloop.api.devboxes.diskSnapshots.queryStatus(sync.id);
    const updated = await runloop.api.devboxes.diskSnapshots.update(sync.id, { name: 'renamed' });
    const page = await runloop.api.devboxes.diskSnapshots.list({ devbox_id: devboxId, limit: 1 });
    const alias = await runloop.api.devboxes.listDiskSnapshots({ devbox_id: devboxId });
    await runloop.api.devboxes.diskSnapshots.delete(sync.id);
    await runloop.api.devboxes.deleteDiskSnapshot(started.id);
    const after = await runloop.api.devboxes.listDiskSnapshots({ devbox_id: devboxId });

    assert.equal(sync.name, 'raw-sync');
    assert.equal(done.status, 'complete');
    assert.equal(status.status, 'complete');
    assert.equal(updated.name, 'renamed');
    assert.equal(page.snapshots.length, 1);
    assert.equal(page.has_more, true);
    assert.equal(alias.snapshots.length, 2);
    assert.equal(after.snapshots.length, 0);
  });

  test('logs.list', async () => {
    const result = await runloop.api.devboxes.executeAndAwaitCompletion(devboxId, {
      command: 'echo for-logs',
    });

    const { logs } = await runloop.api.devboxes.logs.list(devboxId, {
      execution_id: result.execution_id,
    });

    assert.ok(logs.length > 0);
    assert.match(lastCall().url, /\/logs\?execution_id=/);
  });
});

describe('api.devboxes.executions', () => {
  test('retrieve, awaitCompleted, kill, sendStdIn', async () => {
    const cat = await runloop.api.devboxes.executeAsync(devboxId, {
      command: 'cat',
      attach_stdin: true,
    });
    const sent = await runloop.api.devboxes.executions.sendStdIn(devboxId, cat.execution_id, {
      text: 'piped\n',
    });
    await runloop.api.devboxes.executions.sendStdIn(devboxId, cat.execution_id, { signal: 'EOF' });
    const done = await runloop.api.devboxes.executions.awaitCompleted(devboxId, cat.execution_id);
    const retrieved = await runloop.api.devboxes.executions.retrieve(devboxId, cat.execution_id, {
      last_n: 1,
    });

    const sleeper = await runloop.api.devboxes.executeAsync(devboxId, { command: 'sleep 60' });
    await runloop.api.devboxes.executions.kill(devboxId, sleeper.execution_id, {
      kill_process_group: true,
    });
    const killed = await runloop.api.devboxes.executions.awaitCompleted(
      devboxId,
      sleeper.execution_id,
    );

    assert.equal(sent.success, true);
    assert.equal(done.stdout, 'piped\n');
    assert.equal(retrieved.status, 'completed');
    assert.match(calls.find((call) => call.url.includes('?last_n=1')).url, /last_n=1/);
    assert.notEqual(killed.exit_status, 0);
  });

  test('streamStderrUpdates yields chunks', async () => {
    const started = await runloop.api.devboxes.executeAsync(devboxId, { command: 'echo e >&2' });

    const chunks = [];
    const stream = runloop.api.devboxes.executions.streamStderrUpdates(devboxId, started.execution_id);
    for await (const chunk of stream) chunks.push(chunk.output);

    assert.equal(chunks.join(''), 'e\n');
  });
});
