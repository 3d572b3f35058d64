//! TypeScript declarations of the option objects, and the params of `cmd.exec`.

use serde::Deserialize;
use tsify::Tsify;
use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen(typescript_custom_section)]
const OPTION_TYPES: &str = r#"
/** Settings of a `RunloopSDK` client. */
export interface ClientOptions {
  /** API key, sent as `Authorization: Bearer <key>`. Default: `process.env.RUNLOOP_API_KEY` (Node). */
  bearerToken?: string;
  /** API base URL. Default: `process.env.RUNLOOP_BASE_URL` (Node), else `https://api.runloop.ai`. */
  baseURL?: string;
  /** Time allowed for each request attempt, in milliseconds. Default: 30000. */
  timeout?: number;
  /** Retries of a failed request (network errors, timeouts, 408, 409, 429, 5xx). Default: 5. */
  maxRetries?: number;
  /** Headers sent with every request; each replaces a built-in header of the same name. */
  defaultHeaders?: Record<string, string>;
  /** Replacement for the global `fetch`, called as `fetch(url, { method, headers, body, signal })`. */
  fetch?: typeof globalThis.fetch;
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
"#;

/// Parameters of `devbox.cmd.exec`, besides the command itself.
#[derive(Debug, Clone, Default, Deserialize, Tsify)]
pub struct ExecParams {
    /// Persistent shell to run in; its working directory and environment carry over between
    /// commands.
    #[serde(default)]
    #[tsify(optional)]
    pub shell_name: Option<String>,
    /// Seconds the first request waits for the command before the long poll takes over
    /// (at most 25, the default).
    #[serde(default)]
    #[tsify(optional)]
    pub optimistic_timeout: Option<f64>,
    /// Number of trailing output lines the server returns (default 100); `stdout()` and
    /// `stderr()` read the full stream when they need more.
    #[serde(default)]
    #[tsify(optional)]
    pub last_n: Option<u32>,
}
