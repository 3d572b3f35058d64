// `fetch` wrappers for tests: record every request the SDK sends, and change chosen responses
// (fail them, delay them, cut their bodies short) while the rest reach the real server.

/**
 * Returns a `fetch` that records each call and lets `intercept` answer it. `intercept`
 * receives `{ url, method, headers, body, index }` and returns a `Response` to use instead of
 * the server's, or `undefined` to pass the call on to the global `fetch`.
 *
 * @param {(call: { url: string, method: string, headers: Record<string, string>,
 *   body: unknown, index: number }) => Response | undefined | Promise<Response | undefined>}
 *   [intercept]
 */
export function recordingFetch(intercept = () => undefined) {
  const calls = [];
  const fetch = async (url, init) => {
    const call = {
      url: String(url),
      method: init.method,
      headers: { ...init.headers },
      body: init.body,
      index: calls.length,
    };
    calls.push(call);
    const replacement = await intercept(call);
    return replacement ?? globalThis.fetch(url, init);
  };
  return { fetch, calls };
}

/**
 * Returns a response whose body delivers the first `limit` bytes of `response`'s body, then
 * fails the way a dropped connection does.
 *
 * @param {Response} response
 * @param {number} limit
 */
export function cutAfter(response, limit) {
  const reader = response.body.getReader();
  let sent = 0;
  const body = new ReadableStream({
    async pull(controller) {
      if (sent >= limit) {
        await reader.cancel();
        controller.error(new TypeError('terminated: the connection was reset'));
        return;
      }
      const { done, value } = await reader.read();
      if (done) {
        controller.close();
        return;
      }
      const piece = value.subarray(0, limit - sent);
      sent += piece.length;
      controller.enqueue(piece);
    },
  });
  return new Response(body, { status: response.status, headers: response.headers });
}

/** Returns a JSON response. */
export function jsonResponse(status, body, headers = {}) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}
