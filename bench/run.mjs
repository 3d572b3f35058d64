#!/usr/bin/env node
// Benchmarks runloop-wasm against the official @runloop/api-client and raw `fetch`, all on one
// runloop-local started here, and prints one table with the targets met or missed.
//
//   node bench/run.mjs              a full run, after a release build of runloop-local
//   node bench/run.mjs --smoke      a few repetitions at small sizes, for `npm test`
//   node bench/run.mjs --markdown   the report as Markdown, for BENCHMARKS.md
//
// Options: --binary PATH runs that runloop-local build instead; --json FILE also writes the raw
// results; --only LIST runs some sections (latency, transfer, cold-start, footprint,
// snapshots). Progress goes to stderr and the report to stdout. The process exits non-zero
// only when something is functionally broken, never because a figure is slow.

import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { serverBinary, startServer } from '../tests/support/server.mjs';
import { createClient } from './lib/clients.mjs';
import { describeMachine } from './lib/machine.mjs';
import { installPackedPackage, loaderVariable } from './lib/packed-package.mjs';
import { RawApi } from './lib/raw-api.mjs';
import { renderMarkdown, renderText } from './lib/report.mjs';
import { evaluateTargets } from './lib/targets.mjs';
import { runColdStart } from './sections/cold-start.mjs';
import { runFootprint } from './sections/footprint.mjs';
import { runLatency } from './sections/latency.mjs';
import { runSnapshots } from './sections/snapshots.mjs';
import { runTransfer } from './sections/transfer.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const releaseBinary = path.join(repoRoot, 'target', 'release', 'runloop-local');

const sections = {
  latency: runLatency,
  transfer: runTransfer,
  'cold-start': runColdStart,
  footprint: runFootprint,
  snapshots: runSnapshots,
};

const { values: options } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    markdown: { type: 'boolean', default: false },
    json: { type: 'string' },
    binary: { type: 'string' },
    only: { type: 'string' },
  },
});

const log = (message) => process.stderr.write(`bench: ${message}\n`);

const selected = options.only ? options.only.split(',') : Object.keys(sections);
for (const name of selected) {
  if (!sections[name]) {
    const known = Object.keys(sections).join(', ');
    throw new Error(`unknown section ${name} in --only; expected some of ${known}`);
  }
}

const machine = describeMachine();
const binary = options.binary ?? chooseBinary(options.smoke);
log(`runloop-local binary: ${binary}`);

log('packing runloop-wasm (npm pack) into a temporary node_modules');
const packed = await installPackedPackage(repoRoot);
process.env[loaderVariable] = packed.loaderPath;

const notes = [];
if (options.smoke) {
  notes.push('A smoke run only checks that every benchmark works; its figures and verdicts '
    + 'are not representative.');
}

let rows;
try {
  rows = await runSections(notes);
} finally {
  await packed.remove();
}

const binaryLabel = options.binary ?? (options.smoke ? 'debug build' : 'release build');
const report = {
  machine,
  mode: `${options.smoke ? 'smoke run: few repetitions, small sizes' : 'full run'}; `
    + `runloop-local: ${binaryLabel}`,
  rows,
  targets: evaluateTargets(rows, { smoke: options.smoke }),
  notes,
};

if (options.json) writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
process.stdout.write(options.markdown ? renderMarkdown(report) : renderText(report));

/** Starts runloop-local, runs the selected sections against it and returns their rows. */
async function runSections(notes) {
  const server = await startServer({ binary, quiet: true });

  // SIGINT and SIGTERM stop the server, so an interrupted run leaves no devboxes or mounts.
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, async () => {
      log(`${signal}: stopping runloop-local`);
      await server.stop();
      await packed.remove();
      process.exit(130);
    });
  }

  try {
    const clients = {};
    for (const name of ['ours', 'official', 'officialHttp1', 'floor']) {
      clients[name] = await createClient(name, server);
    }

    const api = new RawApi(server);
    const context = { server, api, clients, smoke: options.smoke, log, notes, repoRoot, packed };
    const rows = [];
    for (const name of selected) {
      log(`section ${name}`);
      rows.push(...(await sections[name](context)));
    }
    return rows;
  } finally {
    await server.stop();
  }
}

/**
 * Builds and returns the server binary to run: the debug build for a smoke run (the one the
 * tests use, so `npm test` compiles nothing extra), the release build for a full run.
 */
function chooseBinary(smoke) {
  if (smoke) {
    cargo(['build', '--quiet', '-p', 'runloop-local']);
    return serverBinary;
  }

  log('building runloop-local in release mode (cargo build --release -p runloop-local)');
  cargo(['build', '--release', '-p', 'runloop-local']);
  return releaseBinary;
}

function cargo(args) {
  const result = spawnSync('cargo', args, { cwd: repoRoot, stdio: ['ignore', 2, 2] });
  if (result.status !== 0) {
    throw new Error(`cargo ${args.join(' ')} failed (${result.error?.message ?? result.status})`);
  }
}
