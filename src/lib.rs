//! Runloop devbox SDK for JavaScript, compiled to WebAssembly.
//!
//! The crate has two halves:
//!
//! - A plain Rust core with no JS dependency: [`Client`] (URLs, headers, retries, error
//!   mapping, decoding) over a [`Platform`] that sends HTTP requests, the per-area
//!   [`resources`], the waits in [`wait`], the reconnecting output readers in [`stream`]
//!   and list paging in [`paging`]. Native unit tests drive it through a fake platform.
//! - The wasm bindings in `bindings`, which implement [`Platform`] over `fetch` and export
//!   `RunloopSDK`, `Devbox`, `Execution`, `ExecutionResult`, `Snapshot` and the raw `api`
//!   namespace to JS.
//!
//! Invariants a change must keep:
//!
//! - No code path may panic on data from the network or from JS: in wasm a panic traps the
//!   module and leaves the caller's promise pending forever.
//! - Every JS-facing error goes through the one conversion in `bindings::errors`, so that it
//!   is an instance of the class the JS entry registered.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod bindings;
pub mod browser;
pub mod client;
pub mod error;
pub mod helpers;
pub mod ids;
pub mod json;
pub mod output;
pub mod paging;
pub mod platform;
pub mod progress;
pub mod resources;
pub mod retry;
pub mod sse;
pub mod stream;
pub mod url;
pub mod wait;

pub use client::{ApiRequest, Client, ClientConfig, RequestOptions};
pub use error::{ApiError, Error, PollState, PollingTimeout, Result};
pub use platform::{
    ErrorCause, HttpRequest, HttpResponse, Method, Platform, RequestBody, ResponseBody,
    ResponseMode, TransportError,
};
pub use retry::RetryPolicy;
pub use wait::WaitOptions;

#[cfg(test)]
mod tests;
