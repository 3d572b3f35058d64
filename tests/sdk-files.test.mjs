// devbox.file against a real runloop-local: text read and write from strings and bytes, and
// byte-exact uploads and downloads up to 20 MiB.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { RunloopError, RunloopSDK } from 'runloop-wasm';

import { startServer } from './support/server.mjs';

let server;
let runloop;
let devbox;

before(async () => {
  server = await startServer();
  runloop = new RunloopSDK({ baseURL: server.baseURL, bearerToken: server.token });
  devbox = await runloop.devbox.create({ name: 'files' });
});

after(async () => {
  await devbox?.shutdown().catch(() => {});
  await server?.stop();
});

describe('read and write', () => {
  test('string contents round trip', async () => {
    const view = await devbox.file.write({ file_path: 'notes/a.txt', contents: 'héllo\nwörld' });

    assert.equal(view.exit_status, 0);
    assert.equal(await devbox.file.read('notes/a.txt'), 'héllo\nwörld');
    assert.equal(await devbox.file.read({ file_path: 'notes/a.txt' }), 'héllo\nwörld');
  });

  test('UTF-8 bytes, ArrayBuffer and Blob are written as text', async () => {
    const bytes = new TextEncoder().encode('bytes ✓');

    await devbox.file.write({ file_path: 'u8.txt', contents: bytes });
    await devbox.file.write({ file_path: 'ab.txt', contents: bytes.buffer });
    await devbox.file.write({ file_path: 'blob.txt', contents: new Blob(['blob ✓']) });

    assert.equal(await devbox.file.read('u8.txt'), 'bytes ✓');
    assert.equal(await devbox.file.read('ab.txt'), 'bytes ✓');
    assert.equal(await devbox.file.read('blob.txt'), 'blob ✓');
  });

  test('invalid UTF-8 bytes are rejected before sending', async () => {
    const error = await devbox.file
      .write({ file_path: 'bad.txt', contents: new Uint8Array([0xff, 0xfe]) })
      .catch((e) => e);

    assert.ok(error instanceof RunloopError);
    assert.match(error.message, /not valid UTF-8; use file\.upload/);
  });

  test('missing contents is rejected', async () => {
    const error = await devbox.file.write({ file_path: 'none.txt' }).catch((e) => e);

    assert.ok(error instanceof RunloopError);
    assert.match(error.message, /params\.contents/);
  });
});

describe('upload and download', () => {
  test('20 MiB of random bytes round trip exactly', async () => {
    const original = new Uint8Array(randomBytes(20 * 1024 * 1024));

    await devbox.file.upload({ path: 'big/random.bin', file: original });
    const downloaded = await devbox.file.download({ path: 'big/random.bin' });

    assert.ok(downloaded instanceof Uint8Array);
    assert.equal(downloaded.length, original.length);
    assert.ok(Buffer.from(downloaded).equals(Buffer.from(original)), 'bytes differ');
    const size = await devbox.cmd.exec('stat -c %s big/random.bin');
    assert.equal((await size.stdout()).trim(), String(original.length));
  });

  test('strings, ArrayBuffers and Blobs upload; download as a Blob', async () => {
    await devbox.file.upload({ path: 's.bin', file: 'text ✓' });
    await devbox.file.upload({ path: 'ab.bin', file: new Uint8Array([1, 2, 3]).buffer });
    await devbox.file.upload({ path: 'blob.bin', file: new Blob([new Uint8Array([0, 255])]) });

    assert.equal(await devbox.file.read('s.bin'), 'text ✓');
    assert.deepEqual([...(await devbox.file.download({ path: 'ab.bin' }))], [1, 2, 3]);
    const blob = await devbox.file.download({ path: 'blob.bin' }, { as: 'blob' });
    assert.ok(blob instanceof Blob);
    assert.deepEqual([...new Uint8Array(await blob.arrayBuffer())], [0, 255]);
  });

  test('missing file rejects with the server status', async () => {
    const error = await devbox.file.download({ path: 'nope/missing.bin' }).catch((e) => e);

    assert.ok(error instanceof RunloopError);
    assert.equal(typeof error.status, 'number');
    assert.ok(error.status >= 400, `status ${error.status} is below 400`);
    assert.ok(error.status < 500, `status ${error.status} is 500 or above`);
  });

  test('invalid options.as and file are rejected', async () => {
    const badAs = await devbox.file.download({ path: 'a' }, { as: 'text' }).catch((e) => e);
    const badFile = await devbox.file.upload({ path: 'a', file: 42 }).catch((e) => e);

    assert.match(badAs.message, /options\.as/);
    assert.match(badFile.message, /params\.file/);
  });
});
