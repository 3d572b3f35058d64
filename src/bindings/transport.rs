//! The JS side of one HTTP attempt (`js/transport.cjs`), registered by the package's entry
//! points, and the conversion of its result into a [`PlatformResponse`].
//!
//! One attempt is one call into JS and one awaited promise. The headers cross as one string,
//! and the timer, the abort link and the body read run in JS, which saves a boundary crossing
//! for each header, timer, listener and body read.

use std::cell::RefCell;

use js_sys::{Object, Promise};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, AbortSignal};

use super::fetch::{network_error, FetchPlatform, StreamReader};
use crate::platform::{HttpRequest, PlatformResponse, ResponseBody, ResponseMode, TransportError};

#[wasm_bindgen]
extern "C" {
    /// The module object of `js/transport.cjs`.
    pub type Transport;

    /// Sends one attempt; the promise always fulfils, with an [`Attempt`].
    #[wasm_bindgen(method, js_name = sendAttempt)]
    #[allow(clippy::too_many_arguments)]
    fn send_attempt(
        this: &Transport,
        fetch: &JsValue,
        url: &str,
        method: &str,
        headers: &str,
        body: &JsValue,
        timeout_ms: f64,
        signal: &JsValue,
        mode: &str,
    ) -> Promise;

    /// What `sendAttempt` settles with.
    type Attempt;

    /// Returns the HTTP status, or 0 when the attempt failed before a response.
    #[wasm_bindgen(method, getter)]
    fn status(this: &Attempt) -> u16;

    /// Returns the response headers as `name\nvalue\n...`, names in lower case.
    #[wasm_bindgen(method, getter)]
    fn headers(this: &Attempt) -> String;

    /// Returns the body in the form that the request's mode names.
    #[wasm_bindgen(method, getter)]
    fn body(this: &Attempt) -> JsValue;

    /// Returns the attempt's controller, which stops a streamed body.
    #[wasm_bindgen(method, getter)]
    fn controller(this: &Attempt) -> AbortController;

    /// Returns what `fetch` or the body read threw, when `status` is 0.
    #[wasm_bindgen(method, getter)]
    fn error(this: &Attempt) -> JsValue;

    /// Returns whether the attempt's timer fired, when `status` is 0.
    #[wasm_bindgen(method, getter, js_name = timedOut)]
    fn timed_out(this: &Attempt) -> bool;
}

thread_local! {
    /// The transport registered by the JS entry.
    static TRANSPORT: RefCell<Option<Object>> = const { RefCell::new(None) };
}

/// Registers `js/transport.cjs`. The package's entry points call it at load; users never
/// need to.
#[wasm_bindgen(js_name = "__registerTransport", skip_typescript)]
pub fn register_transport(transport: Object) {
    TRANSPORT.with(|registered| *registered.borrow_mut() = Some(transport));
}

/// Sends one attempt of `request` through the registered transport.
pub(super) async fn send(
    fetch: Option<&js_sys::Function>,
    request: &HttpRequest<JsValue>,
    body: &JsValue,
    signal: Option<&AbortSignal>,
) -> Result<PlatformResponse<FetchPlatform>, TransportError> {
    let transport = TRANSPORT.with(|registered| registered.borrow().clone());
    let Some(transport) = transport else {
        return Err(TransportError::Network {
            message: "the transport is not registered: import the package ('runloop-wasm'), \
                      not the files under pkg/"
                .to_owned(),
            cause: None,
        });
    };

    let transport: &Transport = transport.unchecked_ref();
    let headers = join_headers(&request.headers)?;
    let fetch = fetch.map_or(JsValue::UNDEFINED, |fetch| fetch.clone().into());
    let signal = signal.map_or(JsValue::UNDEFINED, |signal| signal.clone().into());
    let pending = transport.send_attempt(
        &fetch,
        &request.url,
        request.method.as_str(),
        &headers,
        body,
        request.timeout_ms as f64,
        &signal,
        mode_name(request.mode),
    );
    let attempt: Attempt = JsFuture::from(pending)
        .await
        .map_err(network_error)?
        .unchecked_into();

    let status = attempt.status();
    if status == 0 {
        return Err(if attempt.timed_out() {
            TransportError::Timeout
        } else {
            network_error(attempt.error())
        });
    }
    let body = attempt.body();
    let success = (200..300).contains(&status);
    let body = match request.mode {
        _ if !success => ResponseBody::Text(text(&body)),
        ResponseMode::Text => ResponseBody::Text(text(&body)),
        ResponseMode::Stream if body.is_string() => ResponseBody::Text(text(&body)),
        ResponseMode::Stream => ResponseBody::Stream(
            StreamReader::new(body, attempt.controller()).map_err(network_error)?,
        ),
        ResponseMode::HostText | ResponseMode::Bytes | ResponseMode::Blob => {
            ResponseBody::Payload(body)
        }
    };

    Ok(PlatformResponse::<FetchPlatform> {
        status,
        headers: split_headers(&attempt.headers()),
        body,
    })
}

/// Names a mode the way `js/transport.cjs` reads it.
fn mode_name(mode: ResponseMode) -> &'static str {
    match mode {
        ResponseMode::Text | ResponseMode::HostText => "text",
        ResponseMode::Bytes => "bytes",
        ResponseMode::Blob => "blob",
        ResponseMode::Stream => "stream",
    }
}

/// Joins headers as `name\nvalue\n...`. A line break inside a name or value would shift
/// every later pair, so it is rejected, as `fetch` would reject it.
fn join_headers(headers: &[(String, String)]) -> Result<String, TransportError> {
    let mut joined = String::new();
    for (name, value) in headers {
        if name.contains(['\n', '\r']) || value.contains(['\n', '\r']) {
            return Err(TransportError::Network {
                message: format!(
                    "the header {name:?} contains a line break; remove it from defaultHeaders"
                ),
                cause: None,
            });
        }
        joined.push_str(name);
        joined.push('\n');
        joined.push_str(value);
        joined.push('\n');
    }
    Ok(joined)
}

/// Splits `name\nvalue\n...` into pairs.
fn split_headers(joined: &str) -> Vec<(String, String)> {
    let mut parts = joined.split('\n');
    let mut pairs = Vec::new();
    while let (Some(name), Some(value)) = (parts.next(), parts.next()) {
        pairs.push((name.to_owned(), value.to_owned()));
    }
    pairs
}

fn text(body: &JsValue) -> String {
    body.as_string().unwrap_or_default()
}
