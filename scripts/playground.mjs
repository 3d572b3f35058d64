// `npm run playground`: starts runloop-local with the in-browser playground and prints the
// page's URL. Stop it with Ctrl-C; the devboxes and the temporary data directory go with it.

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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

const port = process.env.PLAYGROUND_PORT === undefined ? 0 : Number(process.env.PLAYGROUND_PORT);
const server = await startServer({ playgroundDir: repoRoot, port });
const pageURL = new URL('/playground/', server.baseURL);
pageURL.hash = new URLSearchParams({ token: server.token }).toString();

console.log(`runloop-local is serving the playground (data in ${server.dataDir}).`);
console.log(`Open ${pageURL} in a browser; the token is filled in from the URL.`);
console.log('Press Ctrl-C to stop the server and every devbox it started.');

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await server.stop();
  process.exit(0);
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
