// Figure 5: install footprint. runloop-wasm is measured from the `npm pack` that run.mjs made
// of this repository, and @runloop/api-client with `npm pack --dry-run` on its installed copy
// in node_modules. That copy packs to the published tarball, which a full run checks against the
// shasum from `npm view` when the npm registry responds. The official package's runtime
// dependency tree comes from package-lock.json, and its size from the files in node_modules.

import { execFile } from 'node:child_process';
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';

import { single } from '../lib/stats.mjs';

const execFileAsync = promisify(execFile);
const officialName = '@runloop/api-client';

/** The Node build's wasm module. */
const wasmFile = 'pkg/node/runloop_wasm_bg.wasm';

/**
 * Returns whether a packed file is JS of the Node build: the wasm-bindgen glue in pkg/node/
 * or an entry point in js/, leaving out the browser entry and type declarations.
 */
function isNodeGlue(file) {
  if (!/\.(c|m)?js$/.test(file)) return false;
  if (file.startsWith('pkg/node/')) return true;
  return file.startsWith('js/') && file !== 'js/browser.mjs';
}

/** Measures package sizes and dependency counts; returns table rows. */
export async function runFootprint({ repoRoot, packed, smoke, log, notes }) {
  log(`footprint: npm pack --dry-run of ${officialName}`);
  const ours = packed.pack;
  const officialDir = path.join(repoRoot, 'node_modules', officialName);
  const official = await packDryRun(officialDir);

  const ourManifest = JSON.parse(
    await readFile(path.join(packed.packageDir, 'package.json'), 'utf8'),
  );
  const officialManifest = JSON.parse(
    await readFile(path.join(officialDir, 'package.json'), 'utf8'),
  );
  const lock = JSON.parse(await readFile(path.join(repoRoot, 'package-lock.json'), 'utf8'));
  const officialTree = dependencyTree(lock, `node_modules/${officialName}`);
  const officialTreeBytes = await sumBytes(repoRoot, officialTree);

  const gzipBytes = async (file) =>
    gzipSync(await readFile(path.join(packed.packageDir, file)), { level: 9 }).length;
  const wasmGzip = await gzipBytes(wasmFile);
  let glueGzip = 0;
  const glueFiles = ours.files.map((file) => file.path).filter(isNodeGlue);
  for (const file of glueFiles) glueGzip += await gzipBytes(file);

  if (!smoke) await compareWithRegistry(officialManifest.version, official.shasum, notes);

  const KiB = 1024;
  const row = (key, figure, unit, oursValue, officialValue) => ({
    id: '5',
    key,
    figure,
    unit,
    better: 'lower',
    cells: {
      ours: single(oursValue),
      ...(officialValue === undefined ? {} : { official: single(officialValue) }),
    },
  });

  return [
    row('packed', 'packed tarball (npm pack)', 'KiB', ours.size / KiB, official.size / KiB),
    row(
      'unpacked',
      'unpacked package',
      'KiB',
      ours.unpackedSize / KiB,
      official.unpackedSize / KiB,
    ),
    row('files', 'files in the package', 'count', ours.entryCount, official.entryCount),
    row(
      'dependencies',
      'runtime dependencies, direct',
      'count',
      Object.keys(ourManifest.dependencies ?? {}).length,
      Object.keys(officialManifest.dependencies ?? {}).length,
    ),
    row(
      'dependencies-transitive',
      'runtime dependencies, transitive',
      'count',
      Object.keys(ourManifest.dependencies ?? {}).length === 0 ? 0 : undefined,
      officialTree.length - 1,
    ),
    row(
      'installed',
      'installed with dependencies (node_modules)',
      'KiB',
      ours.unpackedSize / KiB,
      officialTreeBytes / KiB,
    ),
    row('wasm-gzip', 'wasm, gzip -9 (Node build)', 'KiB', wasmGzip / KiB),
    row('glue-gzip', 'JS glue, gzip -9 (Node build)', 'KiB', glueGzip / KiB),
    row('bundle-gzip', 'wasm + JS glue, gzip -9', 'KiB', (wasmGzip + glueGzip) / KiB),
  ];
}

async function packDryRun(directory) {
  const { stdout } = await execFileAsync(
    'npm',
    ['pack', '--dry-run', '--json', '--ignore-scripts'],
    { cwd: directory, maxBuffer: 64 * 1024 * 1024 },
  );
  const [result] = JSON.parse(stdout);
  return result;
}

/**
 * Returns the package-lock.json paths of `root` and every package its runtime dependencies
 * reach, resolving each name the way Node does: the nearest node_modules upward.
 */
function dependencyTree(lock, root) {
  const packages = lock.packages;
  const seen = new Set([root]);
  const queue = [root];

  while (queue.length > 0) {
    const current = queue.shift();
    const entry = packages[current] ?? {};
    const names = Object.keys({ ...entry.dependencies, ...entry.optionalDependencies });
    for (const name of names) {
      const resolved = resolveInLock(packages, current, name);
      if (resolved && !seen.has(resolved)) {
        seen.add(resolved);
        queue.push(resolved);
      }
    }
  }
  return [...seen];
}

function resolveInLock(packages, from, name) {
  let base = from;
  for (;;) {
    const candidate = `${base}/node_modules/${name}`;
    if (packages[candidate]) return candidate;

    const index = base.lastIndexOf('/node_modules/');
    if (index < 0) break;
    base = base.slice(0, index);
  }
  return packages[`node_modules/${name}`] ? `node_modules/${name}` : undefined;
}

/** Sums the file sizes of each package directory, leaving out its nested node_modules. */
async function sumBytes(repoRoot, packagePaths) {
  let total = 0;
  for (const packagePath of packagePaths) {
    total += await directoryBytes(path.join(repoRoot, packagePath));
  }
  return total;
}

async function directoryBytes(directory) {
  let total = 0;
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    if (entry.name === 'node_modules') continue;

    const full = path.join(directory, entry.name);
    if (entry.isDirectory()) total += await directoryBytes(full);
    else if (entry.isFile()) total += (await stat(full)).size;
  }
  return total;
}

async function compareWithRegistry(version, localShasum, notes) {
  try {
    const { stdout } = await execFileAsync(
      'npm',
      ['view', `${officialName}@${version}`, 'dist.shasum'],
      { timeout: 30_000 },
    );
    const registryShasum = stdout.trim();
    notes.push(
      registryShasum === localShasum
        ? `${officialName}@${version}: the packed size is of a tarball whose shasum equals the `
          + "registry's (npm view dist.shasum)."
        : `${officialName}@${version}: the local tarball's shasum ${localShasum} differs from `
          + `the registry's ${registryShasum}, so its sizes may differ from the published ones.`,
    );
  } catch (error) {
    notes.push(`npm view ${officialName} failed (${error.message.split('\n')[0]}); its sizes `
      + 'come from the installed copy only.');
  }
}
