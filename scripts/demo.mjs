// `npm run demo`: builds runloop-local, starts it on a free port with a temporary data
// directory, runs examples/snapshot-workflow.mjs and then examples/fan-out.mjs through the
// SDK, and stops the server.

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { RunloopSDK } from 'runloop-wasm';

import { runFanOutExample } from '../examples/fan-out.mjs';
import { runSnapshotWorkflow } from '../examples/snapshot-workflow.mjs';
import { startServer } from '../tests/support/server.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const build = spawnSync('cargo', ['build', '--quiet', '-p', 'runloop-local'], {
  cwd: repoRoot,
  stdio: 'inherit',
});
if (build.status !== 0) {
  console.error('Building runloop-local failed; see the cargo output above.');
  process.exit(1);
}

const server = await startServer();
console.log(`runloop-local is serving ${server.baseURL} (data in ${server.dataDir})\n`);

let exitCode = 0;
try {
  const runloop = new RunloopSDK({ baseURL: server.baseURL, bearerToken: server.token });
  const started = Date.now();
  let last = started;

  const log = (step, detail) => {
    const now = Date.now();
    const line = detail === undefined ? step : `${step}: ${detail}`;
    console.log(`${line}  (${now - last} ms)`);
    last = now;
  };

  console.log('The disk snapshot workflow:');
  // Progress events of the long steps, printed as they arrive.
  const showProgress = (event) => {
    const what = event.status === undefined ? event.phase : `${event.phase} ${event.status}`;
    console.log(`     … ${what} after ${Math.round(event.elapsedMs)} ms`);
  };
  const result = await runSnapshotWorkflow(runloop, log, showProgress);
  console.log(`The workflow took ${Date.now() - started} ms.`);

  console.log('\nFan-out: three devboxes from one snapshot each try a gzip level.');
  const fanOutStarted = Date.now();
  last = fanOutStarted;
  await runFanOutExample(runloop, log);
  console.log(`The fan-out took ${Date.now() - fanOutStarted} ms.`);

  const contents = JSON.stringify(result.contents);
  console.log(`hello.txt in the devbox restored from the snapshot: ${contents}`);
} catch (error) {
  exitCode = 1;
  console.error('\nThe workflow failed:', error);
  console.error(`runloop-local's log:\n${server.stderr()}`);
} finally {
  await server.stop();
}

process.exit(exitCode);
