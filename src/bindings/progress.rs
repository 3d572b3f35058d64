//! `onProgress` callbacks: the JS side of [`Progress`].
//!
//! A callback runs synchronously inside the operation. When it throws, the operation goes
//! on: the first exception is reported with `console.warn`, and later ones of the same
//! operation are dropped, so a broken callback can neither stop a fan-out halfway (leaving
//! devboxes behind) nor flood the console.

use std::cell::Cell;
use std::rc::Rc;

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::convert::{is_absent, property, to_js};
use super::spawn;
use crate::error::{Error, Result};
use crate::platform::ErrorCause;
use crate::progress::{Progress, ProgressEvent};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = warn)]
    fn console_warn(message: &str, error: &JsValue);
}

/// Reads `options.onProgress`: absent, or a function called with each [`ProgressEvent`].
/// The operation's clock starts now.
pub(crate) fn progress_option(options: &JsValue) -> Result<Option<Progress>> {
    let callback = property(options, "onProgress");
    if is_absent(&callback) {
        return Ok(None);
    }
    let Some(callback) = callback.dyn_ref::<Function>() else {
        return Err(Error::InvalidArgument(
            "Invalid options.onProgress: expected a function".to_owned(),
        ));
    };
    Ok(Some(js_progress(callback.clone())))
}

/// Wraps a JS callback as a progress handle.
fn js_progress(callback: Function) -> Progress {
    let warned = Cell::new(false);
    let sink = move |event: &ProgressEvent| {
        let Ok(event) = to_js(event) else {
            return;
        };
        let Err(thrown) = callback.call1(&JsValue::UNDEFINED, &event) else {
            return;
        };
        if !warned.replace(true) {
            console_warn(
                "runloop-wasm: an onProgress callback threw; the operation goes on, and later \
                 exceptions of this callback are not reported:",
                &thrown,
            );
        }
    };
    Progress::new(Rc::new(sink), js_sys::Date::now())
}

/// Wraps the promise of a file transfer so that `options.onProgress` gets `phase` when it
/// starts (with `total` bytes when known) and `done` with the bytes moved when it ends.
/// Without a callback the promise is returned as it is.
pub(super) fn with_transfer_progress(
    promise: Promise,
    options: &JsValue,
    phase: &'static str,
    total: Option<u64>,
) -> Promise {
    let progress = match progress_option(options) {
        Ok(Some(progress)) => progress,
        Ok(None) => return promise,
        Err(error) => return spawn(async move { Err(error) }),
    };
    spawn(async move {
        let start = ProgressEvent::new(phase).count(0, total);
        progress.report(js_sys::Date::now(), start);

        let value = JsFuture::from(promise)
            .await
            .map_err(|thrown| Error::Thrown(ErrorCause::new(thrown)))?;
        let bytes = byte_size(&value).or(total);
        let mut done = ProgressEvent::new("done");
        done.done = bytes;
        done.total = bytes;
        progress.report(js_sys::Date::now(), done);
        Ok(value)
    })
}

/// Returns the size in bytes of file contents: a string (as UTF-8), a `Uint8Array`, an
/// `ArrayBuffer` or a `Blob`; `None` for anything else.
pub(super) fn byte_size(contents: &JsValue) -> Option<u64> {
    if let Some(text) = contents.as_string() {
        return Some(text.len() as u64);
    }
    if !contents.is_object() {
        return None;
    }
    ["byteLength", "size"]
        .iter()
        .find_map(|key| property(contents, key).as_f64())
        .map(|size| size as u64)
}
