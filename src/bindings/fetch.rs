//! [`Platform`] over the JS host: `fetch`, `setTimeout`, `AbortController`, `Date.now` and
//! `crypto.getRandomValues`. Works with Node 20's global `fetch` and in browsers.

use std::cell::Cell;
use std::rc::Rc;

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, AbortSignal, Response};

use crate::platform::{ErrorCause, HttpRequest, HttpResponse, Platform, TransportError};

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &Function, ms: f64) -> JsValue;

    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(handle: &JsValue);
}

/// The JS host as a [`Platform`].
#[derive(Debug, Clone, Default)]
pub(crate) struct FetchPlatform {
    /// A caller's `fetch` replacement; the global `fetch` when `None`.
    fetch: Option<Function>,
}

impl FetchPlatform {
    pub(crate) fn new(fetch: Option<Function>) -> Self {
        Self { fetch }
    }

    fn fetch_function(&self) -> Result<Function, TransportError> {
        if let Some(fetch) = &self.fetch {
            return Ok(fetch.clone());
        }
        let global = Reflect::get(&js_sys::global(), &JsValue::from_str("fetch"))
            .unwrap_or(JsValue::UNDEFINED);
        global
            .dyn_into::<Function>()
            .map_err(|_| TransportError::Network {
                message: "this runtime has no global fetch; pass a `fetch` option to RunloopSDK"
                    .to_owned(),
                cause: None,
            })
    }
}

impl Platform for FetchPlatform {
    type Signal = AbortSignal;

    async fn send(
        &self,
        request: HttpRequest,
        signal: Option<&AbortSignal>,
    ) -> Result<HttpResponse, TransportError> {
        if signal.is_some_and(AbortSignal::aborted) {
            return Err(TransportError::Aborted);
        }
        let fetch = self.fetch_function()?;
        let controller = AbortController::new().map_err(network_error)?;

        // The timer and the link to the caller's signal both abort this attempt's controller;
        // `timed_out` records which one fired. Both are undone when they are dropped.
        let timed_out = Rc::new(Cell::new(false));
        let _timer = Timer::start(request.timeout_ms, {
            let controller = controller.clone();
            let timed_out = Rc::clone(&timed_out);
            move || {
                timed_out.set(true);
                controller.abort();
            }
        });
        let _link = signal.map(|signal| {
            let controller = controller.clone();
            AbortListener::add(signal, move || controller.abort())
        });

        let outcome = fetch_text(&fetch, &request, &controller.signal()).await;
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

/// Calls `fetch(url, init)` and reads the whole body as text. A custom `fetch` may return any
/// object with `status`, `headers` and `text()`, so the response is not type-checked.
async fn fetch_text(
    fetch: &Function,
    request: &HttpRequest,
    signal: &AbortSignal,
) -> Result<HttpResponse, JsValue> {
    let headers = Object::new();
    for (name, value) in &request.headers {
        Reflect::set(
            &headers,
            &JsValue::from_str(name),
            &JsValue::from_str(value),
        )?;
    }

    let init = Object::new();
    Reflect::set(&init, &"method".into(), &request.method.as_str().into())?;
    Reflect::set(&init, &"headers".into(), &headers)?;
    Reflect::set(&init, &"signal".into(), signal)?;
    if let Some(body) = &request.body {
        Reflect::set(&init, &"body".into(), &JsValue::from_str(body))?;
    }

    let url = JsValue::from_str(&request.url);
    let pending = fetch.call2(&JsValue::UNDEFINED, &url, &init)?;
    let response: Response = JsFuture::from(Promise::resolve(&pending))
        .await?
        .unchecked_into();

    let status = response.status();
    let headers = read_headers(&response)?;
    let text = JsFuture::from(response.text()?).await?;
    let body = text
        .as_string()
        .ok_or_else(|| JsValue::from_str("response.text() did not return a string"))?;

    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn read_headers(response: &Response) -> Result<Vec<(String, String)>, JsValue> {
    let mut headers = Vec::new();
    let Some(entries) = js_sys::try_iter(&response.headers())? else {
        return Ok(headers);
    };

    for entry in entries {
        let pair = Array::from(&entry?);
        let name = pair.get(0).as_string().unwrap_or_default();
        let value = pair.get(1).as_string().unwrap_or_default();
        headers.push((name.to_ascii_lowercase(), value));
    }
    Ok(headers)
}

/// Describes a JS error for the `Connection error` message, including the message of its
/// `cause` (where Node's fetch puts the system error, such as `connect ECONNREFUSED`).
fn network_error(error: JsValue) -> TransportError {
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
    let crypto = Reflect::get(&js_sys::global(), &"crypto".into()).ok()?;
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
struct Timer {
    handle: JsValue,
    _callback: Closure<dyn FnMut()>,
}

impl Timer {
    fn start(ms: u64, callback: impl FnOnce() + 'static) -> Self {
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
struct AbortListener {
    signal: AbortSignal,
    callback: Closure<dyn FnMut()>,
}

impl AbortListener {
    fn add(signal: &AbortSignal, callback: impl FnMut() + 'static) -> Self {
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
