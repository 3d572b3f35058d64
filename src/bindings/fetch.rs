//! [`Platform`] over the JS host: `fetch`, `setTimeout`, `AbortController`, `Date.now` and
//! `crypto.getRandomValues`. Works with Node 20's global `fetch` and in browsers.
//!
//! Payloads (file contents, downloads, host-built JSON) stay JS values: they go from the
//! caller to `fetch`, or from the response to the caller, without entering wasm memory.

use std::cell::Cell;
use std::rc::Rc;

use js_sys::{Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, AbortSignal};

use super::host::{
    clear_timeout, global, set_timeout, BodyReader, BodyStream, FormData, TextDecoder,
};
use super::{json_body, transport};
use crate::platform::{
    ErrorCause, HttpRequest, Platform, PlatformResponse, RequestBody, TransportError,
};

/// The JS host as a [`Platform`].
#[derive(Debug, Clone, Default)]
pub(crate) struct FetchPlatform {
    /// A caller's `fetch` replacement; the global `fetch` when `None`.
    fetch: Option<Function>,
}

/// A response body being read: the stream's reader, the decoder that turns its bytes into
/// text, and the controller that stops the request when the reader is dropped.
pub(crate) struct StreamReader {
    reader: BodyReader,
    decoder: TextDecoder,
    controller: AbortController,
    finished: bool,
}

impl Drop for StreamReader {
    fn drop(&mut self) {
        self.controller.abort();
    }
}

impl StreamReader {
    /// Opens `body`, a response's `ReadableStream`, for reading; `controller` stops the
    /// request when the reader is dropped.
    pub(super) fn new(body: JsValue, controller: AbortController) -> Result<Self, JsValue> {
        let options = Object::new();
        Reflect::set(&options, &"fatal".into(), &JsValue::FALSE)?;
        Ok(Self {
            reader: body.unchecked_ref::<BodyStream>().get_reader()?,
            decoder: TextDecoder::new("utf-8", &options)?,
            controller,
            finished: false,
        })
    }
}

impl FetchPlatform {
    pub(crate) fn new(fetch: Option<Function>) -> Self {
        Self { fetch }
    }
}

impl Platform for FetchPlatform {
    type Signal = AbortSignal;
    type Payload = JsValue;
    type Reader = StreamReader;

    async fn send(
        &self,
        request: HttpRequest<JsValue>,
        signal: Option<&AbortSignal>,
    ) -> Result<PlatformResponse<Self>, TransportError> {
        if signal.is_some_and(AbortSignal::aborted) {
            return Err(TransportError::Aborted);
        }
        let body = match &request.body {
            Some(body) => body_value(body).map_err(network_error)?,
            None => JsValue::UNDEFINED,
        };

        let outcome = transport::send(self.fetch.as_ref(), &request, &body, signal).await;
        match outcome {
            Err(_) if signal.is_some_and(AbortSignal::aborted) => Err(TransportError::Aborted),
            outcome => outcome,
        }
    }

    async fn read_chunk(
        &self,
        reader: &mut StreamReader,
        idle_timeout_ms: u64,
        signal: Option<&AbortSignal>,
    ) -> Result<Option<String>, TransportError> {
        if reader.finished {
            return Ok(None);
        }
        if signal.is_some_and(AbortSignal::aborted) {
            return Err(TransportError::Aborted);
        }

        let timed_out = Rc::new(Cell::new(false));
        let _timer = Timer::start(idle_timeout_ms, {
            let controller = reader.controller.clone();
            let timed_out = Rc::clone(&timed_out);
            move || {
                timed_out.set(true);
                controller.abort();
            }
        });
        let _link = signal.map(|signal| {
            let controller = reader.controller.clone();
            AbortListener::add(signal, move || controller.abort())
        });

        let outcome = read_text(reader).await;
        outcome.map_err(|error| {
            if signal.is_some_and(AbortSignal::aborted) {
                TransportError::Aborted
            } else if timed_out.get() {
                TransportError::Timeout
            } else {
                network_error(error)
            }
        })
    }

    async fn sleep(&self, ms: u64, signal: Option<&AbortSignal>) -> Result<(), TransportError> {
        if signal.is_some_and(AbortSignal::aborted) {
            return Err(TransportError::Aborted);
        }

        let mut resolver = None;
        let promise = Promise::new(&mut |resolve, _reject| resolver = Some(resolve));
        let Some(resolve) = resolver else {
            return Err(network_error(JsValue::from_str(
                "Promise executor was not called",
            )));
        };

        let _timer = Timer::start(ms, {
            let resolve = resolve.clone();
            move || {
                let _ = resolve.call0(&JsValue::UNDEFINED);
            }
        });
        let _link = signal.map(|signal| {
            AbortListener::add(signal, move || {
                let _ = resolve.call0(&JsValue::UNDEFINED);
            })
        });
        let _ = JsFuture::from(promise).await;

        if signal.is_some_and(AbortSignal::aborted) {
            return Err(TransportError::Aborted);
        }
        Ok(())
    }

    fn is_aborted(&self, signal: &AbortSignal) -> bool {
        signal.aborted()
    }

    fn now_ms(&self) -> f64 {
        js_sys::Date::now()
    }

    fn fill_random(&self, buffer: &mut [u8]) {
        if fill_from_crypto(buffer).is_none() {
            for byte in buffer.iter_mut() {
                *byte = (js_sys::Math::random() * 256.0) as u8;
            }
        }
    }
}

/// Converts a request body to the value `fetch` sends.
fn body_value(body: &RequestBody<JsValue>) -> Result<JsValue, JsValue> {
    match body {
        RequestBody::Json(text) => Ok(JsValue::from_str(text)),
        RequestBody::JsonWithHostString { head, value, tail } => {
            json_body::json_with_string(head, value, tail)
        }
        RequestBody::Upload { path, file } => {
            let form = FormData::new()?;
            form.append("path", &JsValue::from_str(path))?;
            let file_name = path.rsplit('/').next().filter(|name| !name.is_empty());
            form.append_file("file", file, file_name.unwrap_or("file"))?;
            Ok(form.into())
        }
    }
}

/// Reads the next piece of a body and decodes it; a character split between pieces is
/// completed by the next one. Returns `None` at the end.
async fn read_text(reader: &mut StreamReader) -> Result<Option<String>, JsValue> {
    let streaming = Object::new();
    Reflect::set(&streaming, &"stream".into(), &JsValue::TRUE)?;

    loop {
        let result = JsFuture::from(reader.reader.read()?).await?;
        let done = Reflect::get(&result, &"done".into())?.is_truthy();
        if done {
            reader.finished = true;
            let rest = reader.decoder.decode(&JsValue::UNDEFINED, &Object::new())?;
            return Ok((!rest.is_empty()).then_some(rest));
        }

        let value = Reflect::get(&result, &"value".into())?;
        let text = reader.decoder.decode(&value, &streaming)?;
        if !text.is_empty() {
            return Ok(Some(text));
        }
    }
}

/// Describes a JS error for the `Connection error` message, including the message of its
/// `cause` (where Node's fetch puts the system error, such as `connect ECONNREFUSED`).
pub(super) fn network_error(error: JsValue) -> TransportError {
    let message = error_message(&error).unwrap_or_else(|| "fetch failed".to_owned());
    let cause = Reflect::get(&error, &"cause".into()).ok();
    let detail = cause.as_ref().and_then(error_message);

    let message = match detail {
        Some(detail) if detail != message => format!("{message} ({detail})"),
        _ => message,
    };
    TransportError::Network {
        message,
        cause: Some(ErrorCause::new(error)),
    }
}

fn error_message(value: &JsValue) -> Option<String> {
    if let Some(text) = value.as_string() {
        return Some(text);
    }
    if !value.is_object() {
        return None;
    }
    Reflect::get(value, &"message".into())
        .ok()
        .and_then(|message| message.as_string())
        .filter(|message| !message.is_empty())
}

fn fill_from_crypto(buffer: &mut [u8]) -> Option<()> {
    let crypto = global("crypto");
    let get_random_values: Function = Reflect::get(&crypto, &"getRandomValues".into())
        .ok()?
        .dyn_into()
        .ok()?;

    let length = u32::try_from(buffer.len()).ok()?;
    let array = Uint8Array::new_with_length(length);
    get_random_values.call1(&crypto, &array).ok()?;
    array.copy_to(buffer);
    Some(())
}

/// A `setTimeout` that is cleared when dropped.
pub(super) struct Timer {
    handle: JsValue,
    _callback: Closure<dyn FnMut()>,
}

impl Timer {
    pub(super) fn start(ms: u64, callback: impl FnOnce() + 'static) -> Self {
        // Node and browsers fire a delay above 2^31 - 1 ms at once instead of late, so longer
        // delays are cut to that (about 24.8 days).
        let ms = ms.min(i32::MAX as u64);
        let callback = Closure::once(callback);
        let handle = set_timeout(callback.as_ref().unchecked_ref(), ms as f64);
        Self {
            handle,
            _callback: callback,
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        clear_timeout(&self.handle);
    }
}

/// An `abort` listener on a signal that is removed when dropped.
pub(super) struct AbortListener {
    signal: AbortSignal,
    callback: Closure<dyn FnMut()>,
}

impl AbortListener {
    pub(super) fn add(signal: &AbortSignal, callback: impl FnMut() + 'static) -> Self {
        let callback = Closure::new(callback);
        let _ = signal.add_event_listener_with_callback("abort", callback.as_ref().unchecked_ref());
        Self {
            signal: signal.clone(),
            callback,
        }
    }
}

impl Drop for AbortListener {
    fn drop(&mut self) {
        let _ = self
            .signal
            .remove_event_listener_with_callback("abort", self.callback.as_ref().unchecked_ref());
    }
}
