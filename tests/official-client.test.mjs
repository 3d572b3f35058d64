// Conformance: the official Runloop client, @runloop/api-client, runs the first five steps of
// the snapshot workflow against runloop-local with nothing changed but baseURL and token.
// It keeps its Node default transport, HTTP/2 in cleartext (h2c with prior knowledge), which
// runloop-local serves on the same port as HTTP/1.1.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { RunloopSDK } from '@runloop/api-client';

import { startServer } from './support/server.mjs';

let server;
let runloop;
const devboxes = [];

before(async () => {
  server = await startServer();
  runloop = new RunloopSDK({ baseURL: server.baseURL, bearerToken: server.token });
});

after(async () => {
  await Promise.allSettled(devboxes.map((devbox) => devbox.shutdown()));
  await server?.stop();
});

test('official client runs steps 1 to 5', async () => {
  const source = await runloop.devbox.create({ name: 'official-source' });
  devboxes.push(source);
  assert.equal((await source.getInfo()).status, 'running');

  const write = await source.cmd.exec("echo 'Hello, World!' > hello.txt");
  assert.equal(write.exitCode, 0);

  const snapshot = await source.snapshotDisk({ name: 'official-snapshot' });
  const status = await snapshot.queryStatus();
  assert.equal(status.status, 'complete');

  const restored = await snapshot.createDevbox();
  devboxes.push(restored);
  assert.equal((await restored.getInfo()).status, 'running');

  const contents = await restored.file.read({ file_path: 'hello.txt' });
  assert.equal(contents, 'Hello, World!\n');
});

test('official client low-level calls', async () => {
  const api = runloop.api;
  const created = await api.devboxes.create({ name: 'official-raw' });
  assert.equal(created.name, 'official-raw');
  const devbox = await api.devboxes.awaitRunning(created.id);
  assert.equal(devbox.status, 'running');

  const sync = await api.devboxes.executeSync(created.id, { command: 'echo $HOME; pwd' });
  assert.equal(sync.exit_status, 0);
  assert.equal(sync.stdout, '/home/user\n/home/user\n');

  await api.devboxes.writeFileContents(created.id, { file_path: 'a/b.txt', contents: 'nested' });
  assert.equal(await api.devboxes.readFileContents(created.id, { file_path: 'a/b.txt' }), 'nested');

  const snapshotView = await api.devboxes.snapshotDisk(created.id, { name: 'raw-sync' });
  assert.equal(snapshotView.source_devbox_id, created.id);
  const page = await api.devboxes.diskSnapshots.list({ devbox_id: created.id });
  assert.deepEqual(page.snapshots.map((s) => s.id), [snapshotView.id]);

  await api.devboxes.diskSnapshots.delete(snapshotView.id);
  await assert.rejects(api.devboxes.diskSnapshots.queryStatus(snapshotView.id), { status: 404 });

  const down = await api.devboxes.shutdown(created.id);
  assert.equal(down.status, 'shutdown');
});
