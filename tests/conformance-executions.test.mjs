// Conformance: the official Runloop client, @runloop/api-client, drives the execution
// endpoints of runloop-local: streaming callbacks, async executions, kill, the stdout event
// stream with offsets, stdin and named shells.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { RunloopSDK } from '@runloop/api-client';

import { startServer } from './support/server.mjs';

let server;
let runloop;
let devbox;

before(async () => {
  server = await startServer();
  runloop = new RunloopSDK({ baseURL: server.baseURL, bearerToken: server.token });
  devbox = await runloop.devbox.create({ name: 'conformance-executions' });
});

after(async () => {
  await devbox?.shutdown();
  await server?.stop();
});

test('cmd.exec streams stdout to the callback', async () => {
  const chunks = [];
  const result = await devbox.cmd.exec("for i in 1 2 3; do echo line$i; done; printf 'é€\\n'", {
    stdout: (chunk) => chunks.push(chunk),
  });
  assert.equal(result.exitCode, 0);
  assert.equal(chunks.join(''), 'line1\nline2\nline3\né€\n');
  assert.equal(await result.stdout(), chunks.join(''));
});

test('truncated stdout is fetched whole through the stream', async () => {
  const result = await devbox.cmd.exec('seq 1 500');
  assert.equal(result.result.stdout_truncated, true);
  const expected = Array.from({ length: 500 }, (_, i) => `${i + 1}\n`).join('');
  assert.equal(await result.stdout(), expected);
  assert.equal(await result.stdout(2), '499\n500');
});

test('execAsync then result waits for completion', async () => {
  const execution = await devbox.cmd.execAsync('sleep 0.5; echo later; exit 4');
  const state = await execution.getState();
  assert.equal(state.status, 'running');

  const result = await execution.result();
  assert.equal(result.exitCode, 4);
  assert.equal(result.failed, true);
  assert.equal(await result.stdout(), 'later\n');
});

test('kill ends a running execution', async () => {
  const execution = await devbox.cmd.execAsync('sleep 300');
  await execution.kill();
  const result = await execution.result();
  assert.equal(result.exitCode, 137);
});

test('streamStdoutUpdates resumes at an offset', async () => {
  const done = await devbox.cmd.exec("printf 'one\\ntwo\\nthree\\n'");
  const api = runloop.api;

  const all = [];
  const stream = await api.devboxes.executions.streamStdoutUpdates(devbox.id, done.executionId);
  for await (const chunk of stream) all.push(chunk);
  assert.equal(all.map((chunk) => chunk.output).join(''), 'one\ntwo\nthree\n');
  assert.equal(all.at(-1).offset, 14);

  const rest = [];
  const resumed = await api.devboxes.executions.streamStdoutUpdates(devbox.id, done.executionId, {
    offset: '4',
  });
  for await (const chunk of resumed) rest.push(chunk);
  assert.equal(rest.map((chunk) => chunk.output).join(''), 'two\nthree\n');
});

test('executeAsync with stdin echoes through cat', async () => {
  const api = runloop.api;
  const started = await api.devboxes.executions.executeAsync(devbox.id, {
    command: 'cat',
    attach_stdin: true,
  });

  const sent = await api.devboxes.executions.sendStdIn(devbox.id, started.execution_id, {
    text: 'hi there\n',
  });
  assert.deepEqual(sent, {
    devbox_id: devbox.id,
    execution_id: started.execution_id,
    success: true,
  });
  // A body of only `signal` would read as request options (whose `signal` is an
  // AbortSignal) to the client, so `text` is sent as null alongside it.
  await api.devboxes.executions.sendStdIn(devbox.id, started.execution_id, {
    text: null,
    signal: 'EOF',
  });

  const completed = await api.devboxes.executions.awaitCompleted(devbox.id, started.execution_id);
  assert.equal(completed.exit_status, 0);
  assert.equal(completed.stdout, 'hi there\n');
});

test('named shell keeps directory and environment', async () => {
  const shell = devbox.shell('x');
  await shell.exec('cd /tmp && export GREETING=hello');
  const result = await shell.exec('pwd; echo $GREETING');
  assert.equal(await result.stdout(), '/tmp\nhello\n');
  assert.equal(result.result.shell_name, 'x');

  const other = await devbox.cmd.exec('pwd; echo "[$GREETING]"');
  assert.equal(await other.stdout(), '/home/user\n[]\n');
});
