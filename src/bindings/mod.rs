//! The JS surface: thin `#[wasm_bindgen]` wrappers that convert arguments, call the core and
//! convert results and errors back.
//!
//! Every promise comes from [`spawn`], so every failure reaches JS through the one error
//! conversion in [`errors`]. Calls that send one request and decode its body share
//! [`send`], so their async code exists once in the module instead of once per method.

/// Unwraps the result of an argument check, or returns from the enclosing method with a
/// promise rejected with its error, the way `?` returns from a function.
macro_rules! check_arg {
    ($check:expr) => {
        match $check {
            Ok(value) => value,
            Err(error) => return $crate::bindings::rejected(error),
        }
    };
}

mod api;
mod checkpoint;
mod config;
mod convert;
mod devbox;
mod errors;
mod execution;
mod fan_out;
mod fetch;
mod files;
mod helper_types;
mod host;
mod json_body;
mod list;
mod output;
mod progress;
mod prune;
mod scoped;
mod sdk;
mod snapshot;
mod transport;
mod typescript;

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::JsValue;

use crate::client::{ApiRequest, Client};
use crate::error::{Error, Result};
use crate::platform::{ResponseBody, ResponseMode};
use convert::request_options;
use fetch::FetchPlatform;

/// The client shared by every object made from one `RunloopSDK`.
type JsClient = Rc<Client<FetchPlatform>>;

/// A request whose host-held bodies are JS values.
type JsRequest = ApiRequest<JsValue>;

/// A future that settles a promise.
type Task = Pin<Box<dyn Future<Output = Result<JsValue>>>>;

/// Runs a future as a JS promise, turning its error into the matching JS error class. The
/// future is boxed, so the promise glue is compiled once for every method.
fn spawn(future: impl Future<Output = Result<JsValue>> + 'static) -> Promise {
    let task: Task = Box::pin(future);
    wasm_bindgen_futures::future_to_promise(async move { task.await.map_err(errors::to_js_error) })
}

/// Returns a promise rejected with the JS error for `error`, for methods whose arguments fail
/// a check before any work starts.
pub(crate) fn rejected(error: Error) -> Promise {
    Promise::reject(&errors::to_js_error(error))
}

/// Converts a 2xx JSON body (and the request's description, for messages) into the value a
/// promise resolves with.
type Decode = fn(&str, &str) -> Result<JsValue>;

/// Parses a JSON body with the host's `JSON.parse`.
fn parse_json(text: &str, context: &str) -> Result<JsValue> {
    js_sys::JSON::parse(text).map_err(|_| invalid_json(context))
}

/// Parses a body of unspecified shape: any JSON, or `undefined` when it is empty.
fn decode_unknown(text: &str, context: &str) -> Result<JsValue> {
    if text.trim().is_empty() {
        return Ok(JsValue::UNDEFINED);
    }
    parse_json(text, context)
}

/// Ignores the body.
fn decode_nothing(_text: &str, _context: &str) -> Result<JsValue> {
    Ok(JsValue::UNDEFINED)
}

fn invalid_json(context: &str) -> Error {
    Error::InvalidResponse {
        context: context.to_owned(),
        message:
            "the response body is not valid JSON; check that baseURL points at the Runloop API"
                .to_owned(),
    }
}

/// Sends one request with `options` (`{ timeout, signal }`) and resolves with its decoded
/// body, or with the body the host kept for payload modes.
fn send(
    client: &JsClient,
    request: Result<JsRequest>,
    options: JsValue,
    decode: Decode,
) -> Promise {
    let client = Rc::clone(client);
    spawn(async move {
        let request = request?;
        let options = request_options(&options)?;
        let response = client.send(&request, &options).await?;
        match response.body {
            ResponseBody::Text(text) => decode(&text, &request.describe()),
            ResponseBody::Payload(payload) => Ok(payload),
            ResponseBody::Stream(_) => Err(Error::InvalidResponse {
                context: request.describe(),
                message: "a streamed body was not expected".to_owned(),
            }),
        }
    })
}

/// Sends one request whose JSON response the SDK returns unchanged, and resolves with it
/// parsed. The body stays a JS string and the host's `JSON.parse` reads it, so the view
/// never passes through wasm memory or serde. The promise's TypeScript type names the view.
fn send_view(client: &JsClient, request: Result<JsRequest>, options: JsValue) -> Promise {
    let client = Rc::clone(client);
    spawn(async move {
        let request = request?.accept("application/json", ResponseMode::HostText);
        let options = request_options(&options)?;
        let text = client.send_payload(&request, &options).await?;
        host::parse_json(&text).map_err(|_| invalid_json(&request.describe()))
    })
}

/// Returns the size of the module's linear memory in bytes. Tests use it to check that a loop
/// of calls does not grow memory; the package's entry points do not export it.
#[wasm_bindgen::prelude::wasm_bindgen(js_name = "__memoryBytes", skip_typescript)]
pub fn memory_bytes() -> f64 {
    #[cfg(target_arch = "wasm32")]
    let pages = core::arch::wasm32::memory_size(0);
    #[cfg(not(target_arch = "wasm32"))]
    let pages = 0;
    pages as f64 * 65_536.0
}
