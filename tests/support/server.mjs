// Starts runloop-local on a free port with a temporary data directory, for tests, examples
// and the demo. The server prints its base URL once it accepts connections, and this module
// waits on that line instead of sleeping.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Path of the debug server binary that `cargo build -p runloop-local` produces. */
export const serverBinary = path.join(repoRoot, 'target', 'debug', 'runloop-local');

const startTimeoutMs = 30_000;
const stopTimeoutMs = 15_000;

/**
 * Starts runloop-local and resolves once it prints its base URL.
 *
 * @param {{ dataDir?: string, token?: string, binary?: string, quiet?: boolean,
 *   corsOrigins?: string[], port?: number, playgroundDir?: string }} [options]
 *   `dataDir` reuses a directory (to test a restart); by default a new temporary one is made
 *   and removed by `stop()`. `port` fixes the port (default: a free one), so a restarted
 *   server keeps its URL. `corsOrigins` are the browser origins allowed to call the API.
 *   `playgroundDir` serves the playground from that package directory.
 * @returns {Promise<{ baseURL: string, token: string, dataDir: string,
 *   stop: () => Promise<void>, stderr: () => string }>}
 */
export async function startServer(options = {}) {
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'runloop-local-')));
  const token = options.token ?? `rl_test_${randomBytes(12).toString('hex')}`;
  const binary = options.binary ?? serverBinary;

  const args = ['--port', String(options.port ?? 0), '--data-dir', dataDir, '--token', token];
  for (const origin of options.corsOrigins ?? []) args.push('--cors-origin', origin);
  if (options.playgroundDir !== undefined) args.push('--playground', options.playgroundDir);

  const child = spawn(binary, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' },
  });

  let stderrText = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderrText += chunk;
    if (!options.quiet && process.env.RUNLOOP_LOCAL_LOGS) process.stderr.write(chunk);
  });

  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (error) => resolve({ code: error.message, signal: null }));
  });

  const baseURL = await waitForBaseURL(child, exited, () => stderrText);

  async function stop() {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
      await exited;
      clearTimeout(timer);
    }
    if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
  }

  return { baseURL, token, dataDir, stop, stderr: () => stderrText };
}

async function waitForBaseURL(child, exited, stderr) {
  const lines = createInterface({ input: child.stdout });
  const urlLine = new Promise((resolve) => {
    lines.on('line', (line) => {
      if (/^http:\/\/127\.0\.0\.1:\d+$/.test(line.trim())) resolve(line.trim());
    });
  });

  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve('timeout'), startTimeoutMs);
  });

  const first = await Promise.race([urlLine, exited, timeout]);
  clearTimeout(timer);

  if (typeof first === 'string' && first !== 'timeout') return first;

  child.kill('SIGKILL');
  const reason = first === 'timeout'
    ? `printed no base URL within ${startTimeoutMs} ms`
    : `exited with ${first.code ?? first.signal} before printing its base URL`;
  throw new Error(`runloop-local ${reason}. Its stderr:\n${stderr()}`);
}
