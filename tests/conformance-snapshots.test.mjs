// Conformance: the official Runloop client, @runloop/api-client, drives every disk snapshot
// endpoint of runloop-local (capture, status, list with filters, update and delete) with
// nothing changed but baseURL and token.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { RunloopSDK } from '@runloop/api-client';

import { startServer } from './support/server.mjs';

let server;
let runloop;
let source;
const devboxes = [];

before(async () => {
  server = await startServer();
  runloop = new RunloopSDK({ baseURL: server.baseURL, bearerToken: server.token });
  source = await runloop.devbox.create({ name: 'conformance-snapshots' });
  devboxes.push(source);
  const setup = await source.cmd.exec('mkdir -p data && echo one > data/file');
  assert.equal(setup.exitCode, 0);
});

after(async () => {
  await Promise.allSettled(devboxes.map((devbox) => devbox.shutdown()));
  await server?.stop();
});

test('snapshotDisk captures a snapshot that createDevbox boots from', async () => {
  const snapshot = await source.snapshotDisk({
    name: 'sync',
    metadata: { team: 'a' },
    commit_message: 'first',
  });
  const status = await snapshot.queryStatus();
  assert.equal(status.status, 'complete');
  assert.equal(status.snapshot.id, snapshot.id);
  assert.equal(status.snapshot.name, 'sync');
  assert.equal(status.snapshot.commit_message, 'first');
  assert.deepEqual(status.snapshot.metadata, { team: 'a' });
  assert.ok(status.snapshot.size_bytes > 0, `size_bytes ${status.snapshot.size_bytes}`);

  const restored = await snapshot.createDevbox();
  devboxes.push(restored);
  assert.equal((await restored.getInfo()).status, 'running');
  assert.equal(await restored.file.read({ file_path: 'data/file' }), 'one\n');
});

test('snapshotDiskAsync and awaitCompleted', async () => {
  const snapshot = await source.snapshotDiskAsync({ name: 'async', metadata: { team: 'b' } });
  const done = await snapshot.awaitCompleted();
  assert.equal(done.status, 'complete');
  assert.equal(done.snapshot.name, 'async');
  assert.equal(done.snapshot.source_devbox_id, source.id);
});

test('diskSnapshots.list filters by devbox and metadata', async () => {
  const api = runloop.api;
  const other = await runloop.devbox.create({ name: 'conformance-other' });
  devboxes.push(other);
  const otherSnapshot = await api.devboxes.snapshotDisk(other.id, { metadata: { team: 'a' } });

  const teamA = await api.devboxes.diskSnapshots.list({
    devbox_id: source.id,
    'metadata[team]': 'a',
  });
  assert.deepEqual(teamA.snapshots.map((s) => s.name), ['sync']);
  assert.equal(teamA.total_count, 1);

  const anyDevbox = await api.devboxes.diskSnapshots.list({ 'metadata[team]': 'a' });
  assert.equal(anyDevbox.snapshots[0].id, otherSnapshot.id, 'newest first');
  assert.equal(anyDevbox.snapshots.length, 2);

  const teamsAB = await api.devboxes.diskSnapshots.list({
    devbox_id: source.id,
    'metadata[team][in]': 'a,b',
  });
  assert.deepEqual(teamsAB.snapshots.map((s) => s.name), ['async', 'sync']);

  const firstPage = await api.devboxes.diskSnapshots.list({ devbox_id: source.id, limit: 1 });
  assert.equal(firstPage.snapshots.length, 1);
  assert.equal(firstPage.has_more, true);
  const secondPage = await api.devboxes.diskSnapshots.list({
    devbox_id: source.id,
    limit: 1,
    starting_after: firstPage.snapshots[0].id,
  });
  assert.equal(secondPage.has_more, false);
  assert.notEqual(secondPage.snapshots[0].id, firstPage.snapshots[0].id);
});

test('update replaces metadata and delete makes the snapshot unknown', async () => {
  const api = runloop.api;
  const view = await api.devboxes.snapshotDisk(source.id, {
    name: 'doomed',
    metadata: { team: 'c', keep: 'no' },
  });

  const updated = await api.devboxes.diskSnapshots.update(view.id, { metadata: { team: 'd' } });
  assert.deepEqual(updated.metadata, { team: 'd' });
  assert.equal(updated.name, 'doomed');
  const listed = await api.devboxes.diskSnapshots.list({ 'metadata[team]': 'd' });
  assert.deepEqual(listed.snapshots.map((s) => s.id), [view.id]);

  await api.devboxes.diskSnapshots.delete(view.id);
  await assert.rejects(api.devboxes.diskSnapshots.queryStatus(view.id), { status: 404 });
  const afterDelete = await api.devboxes.diskSnapshots.list({ 'metadata[team]': 'd' });
  assert.deepEqual(afterDelete.snapshots, []);
  await assert.rejects(api.devboxes.create({ snapshot_id: view.id }), { status: 404 });
});
