//! Declarations of the JS host APIs the bindings call: `fetch` responses and their body
//! readers, `FormData`, `Blob`, `TextDecoder` and timers.
//!
//! They are structural (no `instanceof` checks), so a custom `fetch` may return any object
//! with the same methods, and values from another realm work.

use js_sys::{Function, Object, Promise, Uint8Array};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

#[wasm_bindgen]
extern "C" {
    /// `JSON.parse` of a JS string, which stays on the host side.
    #[wasm_bindgen(catch, js_namespace = JSON, js_name = parse)]
    pub(super) fn parse_json(text: &JsValue) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(js_name = setTimeout)]
    pub(super) fn set_timeout(handler: &Function, ms: f64) -> JsValue;

    #[wasm_bindgen(js_name = clearTimeout)]
    pub(super) fn clear_timeout(handle: &JsValue);

    /// A `fetch` response.
    pub(super) type FetchResponse;

    #[wasm_bindgen(method, getter)]
    pub(super) fn status(this: &FetchResponse) -> u16;

    #[wasm_bindgen(method, getter)]
    pub(super) fn headers(this: &FetchResponse) -> JsValue;

    #[wasm_bindgen(method, getter)]
    pub(super) fn body(this: &FetchResponse) -> JsValue;

    #[wasm_bindgen(method, catch)]
    pub(super) fn text(this: &FetchResponse) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch, js_name = arrayBuffer)]
    pub(super) fn array_buffer(this: &FetchResponse) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch)]
    pub(super) fn blob(this: &FetchResponse) -> Result<Promise, JsValue>;

    /// A response body stream.
    pub(super) type BodyStream;

    #[wasm_bindgen(method, catch, js_name = getReader)]
    pub(super) fn get_reader(this: &BodyStream) -> Result<BodyReader, JsValue>;

    /// The reader of a response body stream.
    pub(super) type BodyReader;

    #[wasm_bindgen(method, catch)]
    pub(super) fn read(this: &BodyReader) -> Result<Promise, JsValue>;

    /// A `TextDecoder` for UTF-8.
    pub(super) type TextDecoder;

    #[wasm_bindgen(constructor, catch)]
    pub(super) fn new(label: &str, options: &Object) -> Result<TextDecoder, JsValue>;

    #[wasm_bindgen(method, catch)]
    pub(super) fn decode(
        this: &TextDecoder,
        input: &JsValue,
        options: &Object,
    ) -> Result<String, JsValue>;

    /// `decode` returning the JS string, so the text stays out of wasm memory.
    #[wasm_bindgen(method, catch, js_name = decode)]
    pub(super) fn decode_to_js(
        this: &TextDecoder,
        input: &JsValue,
        options: &Object,
    ) -> Result<JsValue, JsValue>;

    /// A `FormData` body.
    pub(super) type FormData;

    #[wasm_bindgen(constructor, catch)]
    pub(super) fn new() -> Result<FormData, JsValue>;

    #[wasm_bindgen(method, catch)]
    pub(super) fn append(this: &FormData, name: &str, value: &JsValue) -> Result<(), JsValue>;

    #[wasm_bindgen(method, catch, js_name = append)]
    pub(super) fn append_file(
        this: &FormData,
        name: &str,
        value: &JsValue,
        file_name: &str,
    ) -> Result<(), JsValue>;

    /// A `Blob`.
    pub(super) type Blob;

    #[wasm_bindgen(constructor, catch)]
    pub(super) fn new(parts: &js_sys::Array) -> Result<Blob, JsValue>;

    #[wasm_bindgen(method, catch, js_name = arrayBuffer)]
    pub(super) fn array_buffer(this: &Blob) -> Result<Promise, JsValue>;
}

/// Returns the global `name`, or `undefined`.
pub(super) fn global(name: &str) -> JsValue {
    js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// Returns whether `value` is a `Blob` or a `File`, judged by its shape (a `size` and an
/// `arrayBuffer()` method), so that blobs of another realm or polyfill also pass.
pub(super) fn is_blob(value: &JsValue) -> bool {
    let property = |name: &str| {
        js_sys::Reflect::get(value, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
    };
    value.is_object()
        && property("arrayBuffer").is_function()
        && property("size").as_f64().is_some()
}

/// Returns whether `value` is a `Uint8Array` or an `ArrayBuffer`.
pub(super) fn is_byte_buffer(value: &JsValue) -> bool {
    value.is_instance_of::<Uint8Array>() || value.is_instance_of::<js_sys::ArrayBuffer>()
}
