// One adapter per client under test, each exposing the same operations, so a section can time
// them side by side:
//   ours          runloop-wasm, the package this repository builds: the packed copy that
//                 run.mjs installs (see packed-package.mjs), else this repository itself
//   official      @runloop/api-client with its Node default transport, HTTP/2 in cleartext
//   officialHttp1 @runloop/api-client with `http2: false`, HTTP/1.1 through node-fetch
//   floor         plain `fetch` plus `JSON.parse`, the least any client has to do

import { pathToFileURL } from 'node:url';

import { loaderVariable } from './packed-package.mjs';
import { RawApi } from './raw-api.mjs';

/** Display names of the clients, in table column order. */
export const clientLabels = {
  ours: 'runloop-wasm',
  official: '@runloop/api-client (h2c, default)',
  officialHttp1: '@runloop/api-client (HTTP/1.1)',
  floor: 'floor',
};

/** Request timeout given to every SDK client, in milliseconds: far above a 64 MiB transfer. */
const requestTimeoutMs = 600_000;

/**
 * Creates the adapter for one client.
 *
 * @param {'ours' | 'official' | 'officialHttp1' | 'floor'} name
 * @param {{ baseURL: string, token: string }} server
 */
export async function createClient(name, server) {
  switch (name) {
    case 'ours':
      return oursClient(server);
    case 'official':
      return officialClient(server, {});
    case 'officialHttp1':
      return officialClient(server, { http2: false });
    case 'floor':
      return floorClient(server);
    default:
      throw new Error(`unknown client ${name}; expected ours, official, officialHttp1 or floor`);
  }
}

/** Imports runloop-wasm from the packed copy when run.mjs installed one. */
async function importOurs() {
  const loader = process.env[loaderVariable];
  if (!loader) return import('runloop-wasm');

  const { load } = await import(pathToFileURL(loader).href);
  return load();
}

async function oursClient({ baseURL, token }) {
  const { RunloopSDK } = await importOurs();
  const runloop = new RunloopSDK({ baseURL, bearerToken: token, timeout: requestTimeoutMs });
  const devboxes = new Map();
  const devbox = (id) => {
    if (!devboxes.has(id)) devboxes.set(id, runloop.devbox.fromId(id));
    return devboxes.get(id);
  };

  return {
    getInfo: (id) => devbox(id).getInfo(),
    exec: async (id, command) => {
      const result = await devbox(id).cmd.exec(command);
      return { exitCode: result.exitCode };
    },
    write: (id, filePath, contents) => devbox(id).file.write({ file_path: filePath, contents }),
    read: (id, filePath) => devbox(id).file.read({ file_path: filePath }),
    createFromSnapshot: async (snapshotId) => {
      const created = await runloop.snapshot.fromId(snapshotId).createDevbox();
      return created.id;
    },
    snapshotDisk: async (id, name) => (await devbox(id).snapshotDisk({ name })).id,
  };
}

async function officialClient({ baseURL, token }, transport) {
  const { RunloopSDK } = await import('@runloop/api-client');
  const runloop = new RunloopSDK({
    baseURL,
    bearerToken: token,
    timeout: requestTimeoutMs,
    ...transport,
  });
  const devboxes = new Map();
  const devbox = (id) => {
    if (!devboxes.has(id)) devboxes.set(id, runloop.devbox.fromId(id));
    return devboxes.get(id);
  };

  return {
    getInfo: (id) => devbox(id).getInfo(),
    exec: async (id, command) => {
      const result = await devbox(id).cmd.exec(command);
      return { exitCode: result.exitCode };
    },
    write: (id, filePath, contents) => devbox(id).file.write({ file_path: filePath, contents }),
    read: (id, filePath) => devbox(id).file.read({ file_path: filePath }),
    createFromSnapshot: async (snapshotId) => {
      const created = await runloop.snapshot.fromId(snapshotId).createDevbox();
      return created.id;
    },
    snapshotDisk: async (id, name) => (await devbox(id).snapshotDisk({ name })).id,
  };
}

function floorClient(server) {
  const api = new RawApi(server);
  return {
    getInfo: (id) => api.getDevbox(id),
    exec: async (id, command) => {
      const execution = await api.exec(id, command);
      return { exitCode: execution.exit_status };
    },
    write: (id, filePath, contents) => api.writeFile(id, filePath, contents),
    read: (id, filePath) => api.readFile(id, filePath),
    createFromSnapshot: async (snapshotId) => {
      const view = await api.createDevbox({ snapshot_id: snapshotId });
      return view.id;
    },
    snapshotDisk: async (id, name) => (await api.snapshot(id, name)).id,
  };
}
