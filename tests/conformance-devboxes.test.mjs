// Conformance: the official Runloop client, @runloop/api-client, drives runloop-local's devbox
// lifecycle and file transfer endpoints with nothing changed but baseURL and token, over its
// default Node transport (cleartext HTTP/2).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';

import { RunloopSDK, toFile } from '@runloop/api-client';

import { startServer } from './support/server.mjs';

let server;
let runloop;
const devboxIds = [];

before(async () => {
  server = await startServer();
  runloop = new RunloopSDK({ baseURL: server.baseURL, bearerToken: server.token });
});

after(async () => {
  await Promise.allSettled(
    devboxIds.map((id) => runloop.api.devboxes.shutdown(id, { force: 'true' }, { maxRetries: 0 })),
  );
  await server?.stop();
});

test('create with fields, list by status, update', async () => {
  const api = runloop.api;
  const devbox = await runloop.devbox.create({
    name: 'conformance-fields',
    metadata: { suite: 'devboxes' },
    environment_variables: { GREETING: 'hi from env' },
    launch_parameters: {
      launch_commands: ['echo "$GREETING" > /tmp/launched'],
      resource_size_request: 'SMALL',
      keep_alive_time_seconds: 600,
    },
  });
  devboxIds.push(devbox.id);

  const info = await devbox.getInfo();
  assert.equal(info.status, 'running');
  assert.equal(info.name, 'conformance-fields');
  assert.deepEqual(info.metadata, { suite: 'devboxes' });
  assert.equal(info.launch_parameters.resource_size_request, 'SMALL');
  assert.deepEqual(
    info.state_transitions.map((transition) => transition.status),
    ['provisioning', 'initializing', 'running'],
  );
  assert.equal(await devbox.file.read({ file_path: '/tmp/launched' }), 'hi from env\n');

  const running = await api.devboxes.list({ status: 'running', limit: 100 });
  assert.ok(running.devboxes.some((listed) => listed.id === devbox.id));
  assert.ok(running.devboxes.every((listed) => listed.status === 'running'));
  const suspended = await api.devboxes.list({ status: 'suspended' });
  assert.ok(!suspended.devboxes.some((listed) => listed.id === devbox.id));

  const renamed = await api.devboxes.update(devbox.id, { name: 'renamed' });
  assert.equal(renamed.name, 'renamed');
  assert.deepEqual(renamed.metadata, { suite: 'devboxes' });
  const cleared = await api.devboxes.update(devbox.id, { metadata: {} });
  assert.equal(cleared.name, 'renamed');
  assert.deepEqual(cleared.metadata, {});
});

test('suspend, awaitSuspended, resume, keepAlive, usage and logs', async () => {
  const api = runloop.api;
  const devbox = await runloop.devbox.create({ name: 'conformance-lifecycle' });
  devboxIds.push(devbox.id);

  const execution = await devbox.cmd.exec('echo logged-line');
  assert.equal(execution.exitCode, 0);

  const suspending = await devbox.suspend();
  assert.ok(['suspending', 'suspended'].includes(suspending.status), suspending.status);
  const suspended = await devbox.awaitSuspended();
  assert.equal(suspended.status, 'suspended');

  await assert.rejects(
    api.devboxes.executeSync(devbox.id, { command: 'true' }, { maxRetries: 0 }),
    (error) => error.status === 409 && /suspended/.test(error.message),
  );

  const resumed = await devbox.resume();
  assert.equal(resumed.status, 'running');
  await assert.rejects(
    api.devboxes.resume(devbox.id, { maxRetries: 0 }),
    (error) => error.status === 409 && /running/.test(error.message),
  );

  await devbox.keepAlive();

  const usage = await api.devboxes.retrieveResourceUsage(devbox.id);
  assert.equal(usage.id, devbox.id);
  assert.equal(usage.status, 'running');
  assert.ok(usage.total_elapsed_seconds >= usage.total_active_seconds);
  assert.ok(usage.total_active_seconds > 0);
  assert.equal(usage.end_time_ms ?? null, null);

  const logs = await devbox.logs({ execution_id: execution.executionId });
  assert.ok(logs.logs.length >= 2, JSON.stringify(logs));
  for (const entry of logs.logs) {
    assert.equal(entry.source, 'exec');
    assert.equal(entry.cmd_id, execution.executionId);
    assert.equal(entry.cmd, 'echo logged-line');
  }
  assert.ok(logs.logs.some((entry) => entry.exit_code === 0));
});

test('upload and download bytes, then shutdown with force', async () => {
  const api = runloop.api;
  const devbox = await runloop.devbox.create({ name: 'conformance-files' });
  devboxIds.push(devbox.id);

  const bytes = randomBytes(3 * 1024 * 1024 + 17);
  await api.devboxes.uploadFile(devbox.id, {
    path: 'uploads/blob.bin',
    file: new File([bytes], 'blob.bin', { type: 'application/octet-stream' }),
  });
  // The client sends only named files, so a Blob goes through toFile first.
  await devbox.file.upload({
    path: '~/hello.txt',
    file: await toFile(new Blob(['hello upload']), 'hello.txt'),
  });
  // A bare Blob has no name, so the client leaves it out of the form. The server then
  // names the missing part instead of creating an empty file.
  await assert.rejects(
    api.devboxes.uploadFile(devbox.id, { path: 'nameless.txt', file: new Blob(['x']) }, { maxRetries: 0 }),
    (error) => error.status === 400 && /no file part/.test(error.message),
  );

  const response = await api.devboxes.downloadFile(devbox.id, { path: '/home/user/uploads/blob.bin' });
  assert.equal(response.headers.get('content-type'), 'application/octet-stream');
  const downloaded = Buffer.from(await response.arrayBuffer());
  assert.ok(downloaded.equals(bytes), 'downloaded bytes differ from the upload');
  assert.equal(await devbox.file.read({ file_path: 'hello.txt' }), 'hello upload');

  await assert.rejects(
    api.devboxes.downloadFile(devbox.id, { path: 'missing.bin' }, { maxRetries: 0 }),
    (error) => error.status === 404,
  );

  const down = await api.devboxes.shutdown(devbox.id, { force: 'true' });
  assert.equal(down.status, 'shutdown');
  assert.equal(down.shutdown_reason, 'api_shutdown');
  assert.equal((await devbox.getInfo()).status, 'shutdown');
});
