//! The one conversion from [`Error`] to a JS error object.
//!
//! The error classes are defined in JS (`js/errors.cjs`), so that they are the objects users
//! import and `instanceof` works. The JS entry registers them here once at load.

use std::cell::RefCell;

use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use super::convert::to_js;
use crate::error::Error;

thread_local! {
    /// The object of error classes registered by the JS entry, keyed by class name.
    static ERROR_CLASSES: RefCell<Option<Object>> = const { RefCell::new(None) };
}

/// Registers the JS error classes, an object keyed by class name (`APIError`,
/// `NotFoundError`, ...). The package's entry points call it at load; users never need to.
#[wasm_bindgen(js_name = "__registerErrorClasses", skip_typescript)]
pub fn register_error_classes(classes: Object) {
    ERROR_CLASSES.with(|registered| *registered.borrow_mut() = Some(classes));
}

/// Builds the JS error for `error`: an instance of the registered class that
/// [`Error::class_name`] names, constructed as `new Class(message, fields)`.
///
/// `fields` carries `status`, `requestId`, `headers` and `body` for HTTP errors, `cause` for
/// connection errors and `lastResult` for polling timeouts. Without registered classes (the
/// raw wasm-bindgen output used directly) the result is a plain `Error` with the same name
/// and fields.
pub(crate) fn to_js_error(error: Error) -> JsValue {
    error_to_js(&error)
}

/// Builds the JS error for a borrowed `error`, like [`to_js_error`].
pub(crate) fn error_to_js(error: &Error) -> JsValue {
    if let Error::Thrown(thrown) = error {
        if let Some(value) = thrown.downcast_ref::<JsValue>() {
            return value.clone();
        }
    }
    let class_name = error.class_name();
    let message = JsValue::from_str(&error.to_string());
    let fields = error_fields(error);

    match registered_class(class_name) {
        Some(class) => {
            let arguments = Array::of2(&message, &fields);
            Reflect::construct(&class, &arguments).unwrap_or_else(|failure| failure)
        }
        None => {
            let plain = js_sys::Error::new(&error.to_string());
            plain.set_name(class_name);
            Object::assign(&plain, &fields);
            plain.into()
        }
    }
}

fn registered_class(name: &str) -> Option<Function> {
    ERROR_CLASSES.with(|registered| {
        let classes = registered.borrow();
        let class = Reflect::get(classes.as_ref()?, &JsValue::from_str(name)).ok()?;
        class.dyn_into::<Function>().ok()
    })
}

fn error_fields(error: &Error) -> Object {
    let fields = Object::new();
    let set = |key: &str, value: &JsValue| {
        let _ = Reflect::set(&fields, &JsValue::from_str(key), value);
    };

    match error {
        Error::Api(api) => {
            set("status", &JsValue::from(api.status));
            if let Some(request_id) = &api.request_id {
                set("requestId", &JsValue::from_str(request_id));
            }
            let headers = Object::new();
            for (name, value) in &api.headers {
                let _ = Reflect::set(&headers, &name.into(), &value.into());
            }
            set("headers", &headers);
            let body = api.body.as_ref().and_then(|body| to_js(body).ok());
            set("body", &body.unwrap_or(JsValue::UNDEFINED));
        }
        Error::Connection {
            cause: Some(cause), ..
        } => {
            if let Some(cause) = cause.downcast_ref::<JsValue>() {
                set("cause", cause);
            }
        }
        Error::CleanupFailed { cause, .. } => set("cause", &error_to_js(cause)),
        Error::PollingTimeout(timeout) => {
            let last = timeout.last.as_ref().and_then(|last| to_js(last).ok());
            set("lastResult", &last.unwrap_or(JsValue::NULL));
        }
        _ => {}
    }
    fields
}
