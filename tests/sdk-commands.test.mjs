// devbox.cmd, Execution and ExecutionResult against a real runloop-local: results, output
// tails, line callbacks, streamed lines (with a dropped connection), stdin and kill.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { APIUserAbortError, Execution, ExecutionResult, RunloopSDK } from 'runloop-wasm';

import { cutAfter, recordingFetch } from './support/fetch.mjs';
import { startServer } from './support/server.mjs';

let server;
let runloop;
let devbox;

before(async () => {
  server = await startServer();
  runloop = new RunloopSDK({ baseURL: server.baseURL, bearerToken: server.token });
  devbox = await runloop.devbox.create({ name: 'commands' });
});

after(async () => {
  await devbox?.shutdown().catch(() => {});
  await server?.stop();
});

describe('exec', () => {
  test('result has exit code and output', async () => {
    const result = await devbox.cmd.exec('echo out; echo err >&2; exit 3');

    assert.ok(result instanceof ExecutionResult);
    assert.equal(result.exitCode, 3);
    assert.equal(result.success, false);
    assert.equal(result.failed, true);
    assert.equal(await result.stdout(), 'out\n');
    assert.equal(await result.stderr(), 'err\n');
    assert.equal(result.devboxId, devbox.id);
    assert.equal(result.result.execution_id, result.executionId);
    assert.equal(result.result.status, 'completed');
  });

  test('stdout(numLines) takes the tail', async () => {
    const result = await devbox.cmd.exec('printf "a\\nb\\nc\\n\\n"');

    assert.equal(await result.stdout(2), 'b\nc');
    assert.equal(await result.stdout(0), '');
    assert.equal(await result.stdout(10), 'a\nb\nc');
  });

  test('truncated output is fetched from the stream', async () => {
    const result = await devbox.cmd.exec('seq 1 500', { last_n: 5 });

    assert.equal(result.result.stdout_truncated, true);
    assert.equal(result.result.stdout, '496\n497\n498\n499\n500\n');
    assert.equal(await result.stdout(3), '498\n499\n500');
    const expected = Array.from({ length: 500 }, (_, i) => `${i + 1}\n`).join('');
    assert.equal(await result.stdout(), expected);
    const tail = await result.stdout(200);
    assert.equal(tail.split('\n').length, 200);
    assert.equal(tail.split('\n')[0], '301');
  });

  test('callbacks get one call per line, last partial line at the end', async () => {
    const stdout = [];
    const stderr = [];
    const output = [];

    const result = await devbox.cmd.exec(
      'for i in 1 2 3; do echo out $i; echo err $i >&2; sleep 0.1; done; printf partial',
      {
        stdout: (line) => stdout.push(line),
        stderr: (line) => stderr.push(line),
        output: (line) => output.push(line),
      },
    );

    assert.equal(result.exitCode, 0);
    assert.deepEqual(stdout, ['out 1\n', 'out 2\n', 'out 3\n', 'partial']);
    assert.deepEqual(stderr, ['err 1\n', 'err 2\n', 'err 3\n']);
    assert.deepEqual([...output].sort(), [...stdout, ...stderr].sort());
    assert.equal(stdout.join(''), await result.stdout());
  });

  test('a throwing callback rejects exec with what it threw', async () => {
    const thrown = new Error('callback failed');

    const error = await devbox.cmd
      .exec('echo one; echo two', {
        stdout: () => {
          throw thrown;
        },
      })
      .catch((e) => e);

    assert.equal(error, thrown);
  });

  test('non-function callback is rejected', async () => {
    const error = await devbox.cmd.exec('true', { stdout: 'nope' }).catch((e) => e);

    assert.match(error.message, /params\.stdout: expected a function/);
  });

  test('named shell keeps its directory', async () => {
    await devbox.cmd.exec('mkdir -p work && cd work', { shell_name: 'main' });

    const result = await devbox.cmd.exec('pwd', { shell_name: 'main' });

    assert.equal(result.exitCode, 0);
    assert.match(await result.stdout(), /\S/);
  });
});

describe('execAsync', () => {
  test('stdout and stderr iterate lines, result waits', async () => {
    const execution = await devbox.cmd.execAsync(
      'for i in 1 2 3; do echo out $i; echo err $i >&2; sleep 0.2; done',
    );

    assert.ok(execution instanceof Execution);
    assert.match(execution.executionId, /\S/);
    assert.equal(execution.devboxId, devbox.id);
    const [stdout, stderr] = await Promise.all([
      (async () => {
        const lines = [];
        for await (const line of execution.stdout) lines.push(line);
        return lines;
      })(),
      (async () => {
        const lines = [];
        for await (const line of execution.stderr) lines.push(line);
        return lines;
      })(),
    ]);
    const result = await execution.result({ timeout: 30_000 });

    assert.deepEqual(stdout, ['out 1\n', 'out 2\n', 'out 3\n']);
    assert.deepEqual(stderr, ['err 1\n', 'err 2\n', 'err 3\n']);
    assert.equal(result.exitCode, 0);
    assert.equal((await execution.getState()).status, 'completed');
  });

  test('breaking out of the loop closes the stream', async () => {
    const execution = await devbox.cmd.execAsync('for i in $(seq 1 50); do echo $i; sleep 0.05; done');

    let first;
    for await (const line of execution.stdout) {
      first = line;
      break;
    }
    const lines = execution.stdout;
    await lines.return();

    assert.equal(first, '1\n');
    assert.deepEqual(await lines.next(), { value: undefined, done: true });
    await execution.result({ timeout: 30_000 });
  });

  test('callbacks run in the background and result waits for them', async () => {
    const lines = [];
    const execution = await devbox.cmd.execAsync('echo a; sleep 0.3; echo b', {
      output: (line) => lines.push(line),
    });

    const result = await execution.result({ timeout: 30_000 });

    assert.equal(result.exitCode, 0);
    assert.deepEqual(lines, ['a\n', 'b\n']);
  });

  test('getState shows a running command, kill stops it', async () => {
    const execution = await devbox.cmd.execAsync('sleep 60');

    const state = await execution.getState();
    const killed = await execution.kill();
    const result = await execution.result({ timeout: 30_000 });

    assert.ok(['queued', 'running'].includes(state.status), state.status);
    assert.equal(killed.execution_id, execution.executionId);
    assert.notEqual(result.exitCode, 0);
  });

  test('sendStdIn writes text and closes stdin', async () => {
    const execution = await devbox.cmd.execAsync('cat', { attach_stdin: true });

    const sent = await execution.sendStdIn('hello\n');
    await execution.sendStdIn({ text: 'world\n' });
    await execution.sendStdIn({ signal: 'EOF' });
    const result = await execution.result({ timeout: 30_000 });

    assert.equal(sent.success, true);
    assert.equal(sent.execution_id, execution.executionId);
    assert.equal(await result.stdout(), 'hello\nworld\n');
  });
});

describe('output streams', () => {
  test('a dropped connection resumes at the offset without loss or repeats', async () => {
    let cuts = 0;
    const { fetch, calls } = recordingFetch(async (call) => {
      if (!call.url.includes('/stream_stdout_updates') || cuts >= 2) return undefined;
      cuts += 1;
      const response = await globalThis.fetch(call.url, { headers: call.headers });
      return cutAfter(response, 120);
    });
    const cutting = new RunloopSDK({ baseURL: server.baseURL, bearerToken: server.token, fetch });
    const execution = await cutting.devbox
      .fromId(devbox.id)
      .cmd.execAsync('for i in $(seq 1 40); do echo "line number $i"; sleep 0.01; done');

    const lines = [];
    for await (const line of execution.stdout) lines.push(line);

    const expected = Array.from({ length: 40 }, (_, i) => `line number ${i + 1}\n`);
    assert.deepEqual(lines, expected);
    const opens = calls.filter((call) => call.url.includes('/stream_stdout_updates'));
    assert.ok(opens.length >= 3, `expected reconnects, saw ${opens.length} opens`);
    assert.match(opens[0].url, /offset=0/);
    assert.doesNotMatch(opens[1].url, /offset=0(&|$)/);
  });

  test('raw chunks carry increasing offsets', async () => {
    const started = await runloop.api.devboxes.executeAsync(devbox.id, {
      command: 'echo one; sleep 0.2; echo two',
    });

    const chunks = [];
    const stream = runloop.api.devboxes.executions.streamStdoutUpdates(
      devbox.id,
      started.execution_id,
    );
    for await (const chunk of stream) chunks.push(chunk);

    assert.equal(chunks.map((chunk) => chunk.output).join(''), 'one\ntwo\n');
    const offsets = chunks.map((chunk) => chunk.offset);
    assert.deepEqual([...offsets].sort((a, b) => a - b), offsets);
    assert.equal(offsets.at(-1), 'one\ntwo\n'.length);
  });

  test('a raw stream stops when its signal aborts', async () => {
    const started = await runloop.api.devboxes.executeAsync(devbox.id, {
      command: 'echo first; sleep 20',
    });
    const controller = new AbortController();
    const stream = runloop.api.devboxes.executions.streamStdoutUpdates(
      devbox.id,
      started.execution_id,
      {},
      { signal: controller.signal },
    );

    const first = await stream.next();
    setTimeout(() => controller.abort(), 200);
    const begun = Date.now();
    const error = await stream.next().catch((e) => e);

    assert.equal(first.value.output, 'first\n');
    assert.ok(error instanceof APIUserAbortError, `got ${error?.name}: ${error}`);
    assert.ok(Date.now() - begun < 5_000);
    assert.deepEqual(await stream.next(), { value: undefined, done: true });
    await runloop.api.devboxes.executions.kill(devbox.id, started.execution_id);
  });

  test('reading from an offset skips what came before', async () => {
    const started = await runloop.api.devboxes.executeAsync(devbox.id, { command: 'echo 0123456789' });
    await runloop.api.devboxes.executions.awaitCompleted(devbox.id, started.execution_id);

    const chunks = [];
    const stream = runloop.api.devboxes.executions.streamStdoutUpdates(
      devbox.id,
      started.execution_id,
      { offset: 4 },
    );
    for await (const chunk of stream) chunks.push(chunk.output);

    assert.equal(chunks.join(''), '456789\n');
  });
});
