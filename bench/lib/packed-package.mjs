// Installs runloop-wasm the way a user gets it: `npm pack` of this repository, unpacked into
// node_modules of a temporary directory. The benchmark then measures the published files
// through the package's exports map, and a rebuild of pkg/ during a run cannot change them.

import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Environment variable that carries the loader's path to the client adapters. */
export const loaderVariable = 'BENCH_RUNLOOP_WASM_LOADER';

/**
 * Packs the package in `repoRoot` and installs it in a new temporary directory. Returns
 * `npm pack`'s report (`pack`), the installed package's directory, the path of a module whose
 * `load()` imports 'runloop-wasm' from there, and `remove()`, which deletes the directory.
 */
export async function installPackedPackage(repoRoot) {
  const directory = await mkdtemp(path.join(tmpdir(), 'runloop-wasm-bench-'));

  try {
    const { stdout } = await execFileAsync(
      'npm',
      ['pack', '--json', '--ignore-scripts', '--pack-destination', directory],
      { cwd: repoRoot, maxBuffer: 64 * 1024 * 1024 },
    );
    const [pack] = JSON.parse(stdout);

    const packageDir = path.join(directory, 'node_modules', 'runloop-wasm');
    await mkdir(packageDir, { recursive: true });
    await execFileAsync('tar', [
      '-xzf',
      path.join(directory, pack.filename),
      '-C',
      packageDir,
      '--strip-components=1',
    ]);

    // A bare specifier resolves from the importing file, so the import must live here.
    const loaderPath = path.join(directory, 'load-runloop-wasm.mjs');
    await writeFile(loaderPath, "export const load = () => import('runloop-wasm');\n");
    await checkLoads(loaderPath);

    // Node ends the process without running `finally` blocks when a CommonJS module that an
    // ES module imports throws while loading, so the directory is also removed on exit.
    process.once('exit', () => rmSync(directory, { recursive: true, force: true }));

    return {
      pack,
      packageDir,
      loaderPath,
      remove: () => rm(directory, { recursive: true, force: true }),
    };
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw new Error(`failed to pack and install runloop-wasm in ${directory}: ${error.message}`, {
      cause: error,
    });
  }
}

/**
 * Imports the installed package in a separate Node process, so that a broken package (for
 * example one packed while a build was rewriting pkg/) fails here with its error message.
 */
async function checkLoads(loaderPath) {
  const script = [
    `const { load } = await import(${JSON.stringify(pathToFileURL(loaderPath).href)});`,
    'const { RunloopSDK } = await load();',
    "if (typeof RunloopSDK !== 'function') throw new Error('RunloopSDK is not exported');",
  ].join('\n');

  try {
    await execFileAsync(process.execPath, ['--input-type=module', '--eval', script]);
  } catch (error) {
    const detail = (error.stderr || error.message).trim().split('\n').slice(0, 8).join('\n');
    throw new Error(
      'the packed package does not load. Run `bash scripts/build.sh` and try again, because a '
        + `build running at the same time can leave pkg/ incomplete. Node's output:\n${detail}`,
    );
  }
}
