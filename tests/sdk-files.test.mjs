// devbox.file against a real runloop-local: text read and write from strings and bytes,
// multi-MiB text that is streamed (escaping, surrogate pairs, retries), and byte-exact uploads
// and downloads up to 20 MiB.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { RunloopError, RunloopSDK } from 'runloop-wasm';

import { jsonResponse } from './support/fetch.mjs';
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

  test('lone surrogate is rejected before sending', async () => {
    const error = await devbox.file
      .write({ file_path: 'lone.txt', contents: 'a\uD800b' })
      .catch((e) => e);
    const paired = await devbox.file.write({ file_path: 'pair.txt', contents: 'a\uD83D\uDE00b' });

    assert.ok(error instanceof RunloopError, `got ${error}`);
    assert.match(error.message, /params\.contents: the string contains a lone surrogate/);
    assert.equal(paired.exit_status, 0);
    assert.equal(await devbox.file.read('pair.txt'), 'a\u{1F600}b');
  });

  test('missing contents is rejected', async () => {
    const error = await devbox.file.write({ file_path: 'none.txt' }).catch((e) => e);

    assert.ok(error instanceof RunloopError);
    assert.match(error.message, /params\.contents/);
  });
});

describe('large text', () => {
  const MiB = 1024 * 1024;

  /**
   * Returns about `mebibytes` MiB of text with multi-byte characters, characters that JSON
   * escapes, and surrogate pairs, one of which straddles the 1 MiB mark in UTF-16 units.
   */
  function trickyText(mebibytes) {
    const pattern = 'ascii "quoted" back\\slash\nline\ttab\u0001 é ✓ 中文 😀 </script>\r\n';
    const head = pattern.repeat(Math.ceil(MiB / pattern.length)).slice(0, MiB - 1);
    const straddling = '🎉';
    const rest = pattern.repeat(Math.ceil(((mebibytes - 1) * MiB) / pattern.length));
    const text = head + straddling + rest;

    assert.equal(text.charCodeAt(MiB - 1), straddling.charCodeAt(0), 'high surrogate before 1 MiB');
    assert.equal(text.charCodeAt(MiB), straddling.charCodeAt(1), 'low surrogate at 1 MiB');
    return text;
  }

  /**
   * Returns a `fetch` that records the body of every `write_file_contents` attempt, responds
   * to the first `failures` of them with 503 and forwards the rest to the server.
   */
  function writeRecordingFetch(failures) {
    const writes = [];
    const fetch = async (url, init) => {
      if (!String(url).endsWith('/write_file_contents')) return globalThis.fetch(url, init);

      const text = await new Response(init.body).text();
      writes.push({ streamed: init.body instanceof ReadableStream, duplex: init.duplex, text });
      if (writes.length <= failures) {
        return jsonResponse(503, { message: 'down' }, { 'retry-after-ms': '1' });
      }
      return globalThis.fetch(url, { method: init.method, headers: init.headers, body: text });
    };
    return { fetch, writes };
  }

  test('3 MiB of escaped and multi-byte text round trips exactly', async () => {
    const contents = trickyText(3);

    await devbox.file.write({ file_path: 'large/tricky.txt', contents });
    const read = await devbox.file.read('large/tricky.txt');

    assert.equal(read.length, contents.length);
    assert.ok(read === contents, 'the text read back differs from the text written');
    const size = await devbox.cmd.exec('stat -c %s large/tricky.txt');
    assert.equal((await size.stdout()).trim(), String(Buffer.byteLength(contents, 'utf8')));
  });

  test('large write is streamed and resent whole on retry', async () => {
    const contents = trickyText(2);
    const { fetch, writes } = writeRecordingFetch(1);
    const client = new RunloopSDK({ baseURL: server.baseURL, bearerToken: server.token, fetch });
    const box = client.devbox.fromId(devbox.id);

    await box.file.write({ file_path: 'large/retried.txt', contents });

    // The stream must send the bytes of the one-string body: a surrogate pair split between
    // slices would be sent as two \u escapes instead.
    const expected = JSON.stringify({ file_path: 'large/retried.txt', contents });
    assert.equal(writes.length, 2);
    for (const [index, write] of writes.entries()) {
      assert.ok(write.streamed, `attempt ${index} did not send a ReadableStream`);
      assert.equal(write.duplex, 'half', `attempt ${index} has no duplex: 'half'`);
      assert.equal(write.text.length, expected.length, `attempt ${index} length`);
      assert.ok(write.text === expected, `attempt ${index} sent another body`);
    }
    assert.ok(await box.file.read('large/retried.txt') === contents, 'file differs');
  });

  test('small write is sent as one string', async () => {
    const { fetch, writes } = writeRecordingFetch(0);
    const client = new RunloopSDK({ baseURL: server.baseURL, bearerToken: server.token, fetch });
    const contents = 'small "text" ✓ 😀\n';

    await client.devbox.fromId(devbox.id).file.write({ file_path: 'small.txt', contents });

    assert.equal(writes.length, 1);
    assert.equal(writes[0].streamed, false);
    assert.equal(writes[0].duplex, undefined);
    assert.deepEqual(JSON.parse(writes[0].text), { file_path: 'small.txt', contents });
  });

  test('read decodes like response.text()', async () => {
    const cases = [
      { name: 'invalid UTF-8', chunks: [[0x61, 0xff, 0x62]] },
      { name: 'character split between chunks', chunks: [[0x61, 0xc3], [0xa9, 0x62]] },
      { name: 'truncated character at the end', chunks: [[0x61, 0xe2, 0x9c]] },
      { name: 'byte order mark', chunks: [[0xef, 0xbb, 0xbf, 0x61]] },
      { name: 'empty body', chunks: [] },
    ];

    for (const { name, chunks } of cases) {
      const body = () => new ReadableStream({
        start(controller) {
          for (const chunk of chunks) controller.enqueue(new Uint8Array(chunk));
          controller.close();
        },
      });
      const fetch = async (url, init) => {
        if (!String(url).endsWith('/read_file_contents')) return globalThis.fetch(url, init);
        return new Response(body(), { headers: { 'content-type': 'text/plain' } });
      };
      const client = new RunloopSDK({ baseURL: server.baseURL, bearerToken: server.token, fetch });

      const text = await client.devbox.fromId(devbox.id).file.read('any.txt');

      assert.equal(text, await new Response(body()).text(), name);
    }
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

  test('download bytes with any declared length', async () => {
    const bytes = [0, 1, 2, 250, 255];
    const cases = [
      { name: 'exact content-length', headers: { 'content-length': '5' } },
      { name: 'no content-length', headers: {} },
      { name: 'content-length too short', headers: { 'content-length': '2' } },
      { name: 'content-length too long', headers: { 'content-length': '9' } },
      { name: 'compressed body', headers: { 'content-length': '2', 'content-encoding': 'gzip' } },
    ];

    for (const { name, headers } of cases) {
      const body = new ReadableStream({
        start(controller) {
          controller.enqueue(new Uint8Array(bytes.slice(0, 3)));
          controller.enqueue(new Uint8Array(bytes.slice(3)));
          controller.close();
        },
      });
      const fetch = async (url, init) => {
        if (!String(url).endsWith('/download_file')) return globalThis.fetch(url, init);
        return new Response(body, { headers });
      };
      const client = new RunloopSDK({ baseURL: server.baseURL, bearerToken: server.token, fetch });

      const downloaded = await client.devbox.fromId(devbox.id).file.download({ path: 'any' });

      assert.ok(downloaded instanceof Uint8Array, name);
      assert.deepEqual([...downloaded], bytes, name);
      assert.equal(downloaded.buffer.byteLength, bytes.length, `${name}: buffer length`);
    }
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
