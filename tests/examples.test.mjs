// The examples that are not run elsewhere, run against runloop-local with their results
// asserted, so the README's and the examples' code cannot rot.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { RunloopSDK } from 'runloop-wasm';

import { runRollbackExample } from '../examples/rollback-and-cleanup.mjs';
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

test('rollback example restores and prunes', async () => {
  const steps = [];
  const result = await runRollbackExample(runloop, (step) => steps.push(step));

  assert.equal(result.status, 'rejected');
  assert.equal(result.restored, true);
  assert.equal(result.afterRollback, 'version=1\n');
  assert.equal(result.plannedDeletes, 2);
  assert.deepEqual(result.deleted.sort(), ['nightly-1', 'nightly-2']);
  assert.deepEqual(result.kept, ['nightly-3']);
  assert.equal(steps.length, 3);

  const running = await runloop.devbox.list({ status: 'running' });
  assert.deepEqual(running.map((devbox) => devbox.id), []);
  const left = await runloop.snapshot.list({});
  assert.deepEqual(left.map((snapshot) => snapshot.id), []);
});
