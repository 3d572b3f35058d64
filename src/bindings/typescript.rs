//! TypeScript declarations that wasm-bindgen cannot derive: the option objects, the params
//! that hold JS values (callbacks, bytes), the async iteration and `then` that
//! `js/protocols.cjs` adds, and the overloads of the downloads. Interfaces named like a class
//! merge into that class's declaration.

use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen(typescript_custom_section)]
const OPTION_TYPES: &str = r#"
/** Settings of a `RunloopSDK` client. */
export interface ClientOptions {
  /** API key, sent as `Authorization: Bearer <key>`. Default: `process.env.RUNLOOP_API_KEY` (Node). */
  bearerToken?: string;
  /** API base URL. Default: `process.env.RUNLOOP_BASE_URL` (Node), else `https://api.runloop.ai`. */
  baseURL?: string;
  /**
   * Time allowed for each request attempt, in milliseconds. Default: 30000. File transfers,
   * `executeSync` and the synchronous `snapshotDisk` get at least 600000 (10 minutes).
   */
  timeout?: number;
  /** Retries of a failed request (network errors, timeouts, 408, 409, 429, 5xx). Default: 5. */
  maxRetries?: number;
  /** Headers sent with every request; each replaces a built-in header of the same name. */
  defaultHeaders?: Record<string, string>;
  /**
   * Replacement for the global `fetch`, called as `fetch(url, { method, headers, body, signal })`.
   * In Node, `file.write` of 1 MiB or more passes `body` as a `ReadableStream` of bytes and adds
   * `duplex: 'half'`.
   */
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
  /**
   * Allows the client in a browser page or web worker with a base URL on another origin.
   * Without it the constructor throws there, because anyone who can load the page can read
   * the API key from it and use the account. Loopback base URLs (`localhost`, `127.0.0.1`,
   * `[::1]`) and paths on the page's own origin (a proxy that adds the key) need no opt-in.
   */
  dangerouslyAllowBrowser?: boolean;
}

/** Settings of a call that sends one request (with retries). */
export interface RequestOptions {
  /** Time allowed for each attempt, in milliseconds. Default: the client's `timeout`. */
  timeout?: number;
  /** Aborts the call; the promise rejects with `APIUserAbortError`. */
  signal?: AbortSignal;
}

/** Settings of a call that waits for a state (a devbox running, a command or snapshot done). */
export interface WaitOptions {
  /**
   * Time allowed for the whole wait, every request included, in milliseconds. When it runs
   * out, the promise rejects with `PollingTimeoutError` carrying the last state seen.
   * Default: no limit.
   */
  timeout?: number;
  /** Aborts the wait; the promise rejects with `APIUserAbortError`. */
  signal?: AbortSignal;
}

/** Settings of an output stream, which reads until the command completes. */
export interface StreamOptions {
  /** Stops the stream; the pending `next()` rejects with `APIUserAbortError`. */
  signal?: AbortSignal;
}

/** Settings of `devbox.shutdown`. */
export interface ShutdownOptions extends RequestOptions {
  /** Shuts down even while a snapshot is in progress, which cancels the snapshot. */
  force?: boolean;
}

/** Settings of a download. */
export interface DownloadOptions extends RequestOptions {
  /** Resolve with a `Uint8Array` (`'bytes'`, the default) or a `Blob` (`'blob'`). */
  as?: 'bytes' | 'blob';
}

/** Output callbacks of `cmd.exec` and `cmd.execAsync`, each called once per line. */
export interface ExecuteStreamingCallbacks {
  /** Called with each stdout line, its `"\n"` included (a last unterminated line has none). */
  stdout?: (line: string) => void;
  /** Called with each stderr line, its `"\n"` included. */
  stderr?: (line: string) => void;
  /** Called with each line of either stream, in the order they arrive. */
  output?: (line: string) => void;
}

/** File contents: text (sent as UTF-8) or bytes. */
export type FileContents = string | Uint8Array | ArrayBuffer | Blob;

/** Parameters of `file.write`. */
export interface FileWriteParams {
  /** Path in the devbox; relative paths start at the home directory. */
  file_path: string;
  /** New contents: text, or bytes that hold UTF-8. */
  contents: FileContents;
}

/** Parameters of `file.upload`. */
export interface FileUploadParams {
  /** Path in the devbox; relative paths start at the home directory. */
  path: string;
  /** New contents, any bytes. */
  file: FileContents;
}

/** One page of a list. */
export interface ListPage<T> {
  /** The items of this page. */
  items: T[];
  /** The cursor of the next page, or `null` on the last page. */
  nextCursor: string | null;
}
"#;

#[wasm_bindgen(typescript_custom_section)]
const PROTOCOL_TYPES: &str = r#"
export interface DevboxList {
  /**
   * Resolves with the first page of devboxes.
   *
   * ```ts
   * const devboxes = await runloop.devbox.list({ limit: 10 });
   * ```
   */
  then<R1 = Devbox[], R2 = never>(
    onfulfilled?: ((devboxes: Devbox[]) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2>;
  /**
   * Iterates over every devbox on every page, fetching each page when the loop reaches it.
   *
   * ```ts
   * for await (const devbox of runloop.devbox.list()) console.log(devbox.id);
   * ```
   */
  [Symbol.asyncIterator](): AsyncIterator<Devbox, undefined, undefined>;
}

export interface SnapshotList {
  /**
   * Resolves with every matching snapshot, from all pages.
   *
   * ```ts
   * const snapshots = await runloop.snapshot.list({ devbox_id: devbox.id });
   * ```
   */
  then<R1 = Snapshot[], R2 = never>(
    onfulfilled?: ((snapshots: Snapshot[]) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2>;
  /**
   * Iterates over every matching snapshot, fetching each page when the loop reaches it.
   *
   * ```ts
   * for await (const snapshot of runloop.snapshot.list()) console.log(snapshot.id);
   * ```
   */
  [Symbol.asyncIterator](): AsyncIterator<Snapshot, undefined, undefined>;
}

export interface OutputLines {
  /**
   * Returns this iterator, so `for await` reads the lines.
   *
   * ```ts
   * for await (const line of execution.stdout) process.stdout.write(line);
   * ```
   */
  [Symbol.asyncIterator](): OutputLines;
}

export interface OutputChunks {
  /**
   * Returns this iterator, so `for await` reads the chunks.
   *
   * ```ts
   * for await (const chunk of chunks) process.stdout.write(chunk.output);
   * ```
   */
  [Symbol.asyncIterator](): OutputChunks;
}

export interface DevboxFileOps {
  /**
   * Downloads a file as a `Blob`.
   *
   * ```ts
   * const blob = await devbox.file.download({ path: 'report.pdf' }, { as: 'blob' });
   * ```
   */
  download(params: DownloadFileParams, options: TransferOptions & { as: 'blob' }): Promise<Blob>;
  /**
   * Downloads a file's bytes. The bytes go from the response to the `Uint8Array` without
   * passing through wasm memory.
   *
   * ```ts
   * const bytes = await devbox.file.download({ path: 'data/model.bin' });
   * ```
   */
  download(params: DownloadFileParams, options?: TransferOptions & { as?: 'bytes' }): Promise<Uint8Array>;
}

export interface DevboxesApi {
  /**
   * `POST /v1/devboxes/{id}/download_file`, resolving with a `Blob`.
   *
   * ```ts
   * const blob = await runloop.api.devboxes.downloadFile('dbx_123', { path: 'a.bin' }, { as: 'blob' });
   * ```
   */
  downloadFile(id: string, params: DownloadFileParams, options: RequestOptions & { as: 'blob' }): Promise<Blob>;
  /**
   * `POST /v1/devboxes/{id}/download_file`, resolving with the bytes.
   *
   * ```ts
   * const bytes = await runloop.api.devboxes.downloadFile('dbx_123', { path: 'a.bin' });
   * ```
   */
  downloadFile(id: string, params: DownloadFileParams, options?: RequestOptions & { as?: 'bytes' }): Promise<Uint8Array>;
}
"#;
