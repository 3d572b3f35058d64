// Serves the package's browser build and the browser test pages over HTTP on 127.0.0.1, from
// a short list of folders of this repository, so pages load the package as a user's site would.

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const servedFolders = ['pkg', 'js', 'tests/browser', 'playground'];

const contentTypes = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.d.ts': 'text/plain; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/**
 * Starts the static server on a free port.
 *
 * @returns {Promise<{ origin: string, close: () => Promise<void> }>}
 */
export async function startStaticServer() {
  const server = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const relative = path.normalize(decodeURIComponent(url.pathname)).replace(/^\/+/, '');
    const allowed = servedFolders.some((folder) => relative.startsWith(`${folder}/`));
    const file = path.join(repoRoot, relative);

    if (request.method !== 'GET' || !allowed || !file.startsWith(repoRoot + path.sep)) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }

    try {
      const info = await stat(file);
      if (!info.isFile()) throw new Error('not a file');
    } catch {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }

    const type = contentTypes[path.extname(file)] ?? 'application/octet-stream';
    response.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
    createReadStream(file).pipe(response);
  });

  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();

  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
