// Child process of the transfer benchmark. One client either writes a file of one size a few
// times or reads it back a few times, in a process that runs nothing else, so the process's
// memory growth belongs to that client and that direction. It prints JSON on stdout: the time
// of each transfer, the peak resident memory above the start, and the SHA-256 of the contents.
//
//   node --expose-gc bench/sections/transfer-child.mjs CLIENT write|read BYTES REPS
// with BENCH_BASE_URL, BENCH_TOKEN and BENCH_DEVBOX in the environment.

import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

import { createClient } from '../lib/clients.mjs';

const [clientName, direction, bytesText, repsText] = process.argv.slice(2);
const bytes = Number(bytesText);
const reps = Number(repsText);
const devboxId = process.env.BENCH_DEVBOX;
const server = { baseURL: process.env.BENCH_BASE_URL, token: process.env.BENCH_TOKEN };

if (direction !== 'write' && direction !== 'read') {
  throw new Error(`invalid direction ${direction}; expected write or read`);
}

const client = await createClient(clientName, server);
const filePath = `/tmp/bench-transfer-${clientName}.txt`;
const warmUpPath = `/tmp/bench-warm-up-${clientName}.txt`;

// Base64 text is random, valid UTF-8 and needs no escaping in JSON, so every client sends the
// same bytes. A size that is a multiple of 4 needs no slicing, which would leave garbage.
const contents = direction === 'write' ? randomText(bytes) : undefined;

// One small write and read first, so connection set-up and lazy loading are not measured.
await client.write(devboxId, warmUpPath, 'warm-up');
await client.read(devboxId, warmUpPath);

globalThis.gc?.();
const peakResetWorked = resetPeakRss();
const baselineKiB = statusKiB('VmHWM');

const times = [];
let last;
for (let rep = 0; rep < reps; rep++) {
  const start = performance.now();
  last = direction === 'write'
    ? await client.write(devboxId, filePath, contents)
    : await client.read(devboxId, filePath);
  times.push(performance.now() - start);

  if (direction === 'read' && last.length !== bytes) {
    const expected = `expected ${bytes}`;
    throw new Error(`${clientName} read ${last.length} characters of ${filePath}, ${expected}`);
  }
}
const peakKiB = statusKiB('VmHWM') - baselineKiB;

const text = direction === 'write' ? contents : last;
const sha256 = createHash('sha256').update(text).digest('hex');
process.stdout.write(`${JSON.stringify({ times, peakKiB, peakResetWorked, sha256 })}\n`);

function randomText(length) {
  if (length % 4 !== 0) throw new Error(`size ${length} is not a multiple of 4`);
  return randomBytes((length / 4) * 3).toString('base64');
}

/** Reads a `kB` field of /proc/self/status. */
function statusKiB(field) {
  const line = readFileSync('/proc/self/status', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith(`${field}:`));
  if (!line) throw new Error(`/proc/self/status has no ${field} line; this benchmark needs Linux`);
  return Number(line.split(/\s+/)[1]);
}

// Writing 5 to clear_refs resets VmHWM to the current RSS (Linux 4.0 and later, see proc(5)),
// so the peak leaves out generating the contents. Returns whether the reset worked.
function resetPeakRss() {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}
