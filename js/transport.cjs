'use strict';
// One HTTP attempt for the wasm core: `fetch`, its timeout, the link to the caller's abort
// signal and the reading of the body, all on the JS side. The core calls `sendAttempt` once
// per attempt and awaits one promise, instead of crossing into JS for every header, timer
// and listener. Retries, backoff and error mapping stay in the core. Both entry points
// register this file with the wasm build; scripts/build.sh wraps it as an ES module for the
// browser entry.

/** Node and browsers fire a delay above 2^31 - 1 ms at once, so longer ones are cut to it. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Bodies of `ReadableStream` type need this `fetch` option in Node and current browsers. */
function isStream(body) {
  return typeof ReadableStream !== 'undefined' && body instanceof ReadableStream;
}

/**
 * Turns `name\nvalue\n...` (names in lower case, as the core builds them) into an object, so
 * that all headers cross from wasm as one string.
 */
function headerObject(joined) {
  const headers = {};
  const parts = joined.split('\n');
  for (let index = 0; index + 1 < parts.length; index += 2) {
    headers[parts[index]] = parts[index + 1];
  }
  return headers;
}

/** Joins response headers as `name\nvalue\n...`, for the core to split. */
function joinHeaders(headers) {
  let joined = '';
  if (headers && typeof headers.forEach === 'function') {
    headers.forEach((value, name) => {
      joined += `${name.toLowerCase()}\n${value}\n`;
    });
  }
  return joined;
}

/**
 * Reads a body into one `Uint8Array` of the length that `content-length` declares, copying
 * each chunk in as it arrives. `arrayBuffer()` keeps every chunk until the end and then
 * copies them all: in Node 20 against runloop-local, a 64 MiB download peaked about 180 MiB
 * above the start with it and about 95 MiB with this. Without a declared length, or for a
 * compressed body, whose decoded length is unknown, it falls back to `arrayBuffer()`.
 */
async function preallocatedBytes(response) {
  const body = response.body;
  const length = declaredLength(response.headers);
  if (length === undefined || !body || typeof body.getReader !== 'function') {
    return new Uint8Array(await response.arrayBuffer());
  }

  let bytes = new Uint8Array(length);
  let filled = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;

    // A body longer than declared (from a custom `fetch`) grows the buffer instead of failing.
    if (filled + value.length > bytes.length) {
      const grown = new Uint8Array(Math.max(bytes.length * 2, filled + value.length));
      grown.set(bytes.subarray(0, filled));
      bytes = grown;
    }
    bytes.set(value, filled);
    filled += value.length;
  }
  return filled === bytes.length ? bytes : bytes.slice(0, filled);
}

/** Returns the `content-length` of an uncompressed body, or `undefined`. */
function declaredLength(headers) {
  if (!headers || typeof headers.get !== 'function') return undefined;

  const encoding = headers.get('content-encoding');
  if (encoding && encoding.trim().toLowerCase() !== 'identity') return undefined;

  const length = headers.get('content-length');
  return length !== null && /^\d+$/.test(length.trim()) ? Number(length) : undefined;
}

/**
 * Settles with `work`, or rejects when `signal` aborts first. A caller's `fetch` replacement
 * may ignore the signal, and the timeout and aborts must still end the attempt.
 */
function untilAborted(work, signal) {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Reads a 2xx body in the form `mode` names; see `ResponseMode` in src/platform.rs. */
async function readBody(response, mode) {
  switch (mode) {
    case 'bytes':
      return preallocatedBytes(response);
    case 'blob':
      return response.blob();
    case 'stream': {
      const body = response.body;
      return body && typeof body.getReader === 'function' ? body : response.text();
    }
    default:
      return response.text();
  }
}

/**
 * Sends one attempt and settles with `{ status, headers, body, controller }`, or with
 * `{ status: 0, error, timedOut }` when `fetch` or the body read failed. It never rejects, so
 * the core can distinguish a timeout, an abort and a network error without a second call.
 *
 * `timeoutMs` covers the whole body, except in `stream` mode, where it ends when the headers
 * arrive and `controller` stays with the reader, to stop the body later. Bodies of other
 * statuses than 2xx are always read as text, for the error message.
 */
async function sendAttempt(fetchFn, url, method, headers, body, timeoutMs, signal, mode) {
  const send = fetchFn ?? globalThis.fetch;
  if (typeof send !== 'function') {
    const message = 'this runtime has no global fetch; pass a `fetch` option to RunloopSDK';
    return { status: 0, error: new TypeError(message), timedOut: false };
  }

  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, Math.min(timeoutMs, MAX_TIMER_MS));
  const onAbort = () => controller.abort();
  signal?.addEventListener('abort', onAbort);

  try {
    const init = { method, headers: headerObject(headers), signal: controller.signal };
    if (body !== undefined) {
      init.body = body;
      if (isStream(body)) init.duplex = 'half';
    }

    const exchange = (async () => {
      const response = await send(url, init);
      const status = response.status;
      const success = status >= 200 && status < 300;
      const payload = success ? await readBody(response, mode) : await response.text();
      return { status, headers: joinHeaders(response.headers), body: payload, controller };
    })();
    // The global fetch honours the signal. A replacement passed as the `fetch` option may
    // not, so it is raced against the signal and cannot hang past the timeout or an abort.
    return await (fetchFn ? untilAborted(exchange, controller.signal) : exchange);
  } catch (error) {
    return { status: 0, error, timedOut };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

module.exports = { sendAttempt };
