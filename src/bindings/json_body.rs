//! The request body of a file write: JSON text around one JS string, the file contents.
//!
//! Small contents, and every body in browsers, go to `fetch` as one string. Large contents in
//! Node go as a `ReadableStream` that escapes and UTF-8 encodes one slice of the string at a
//! time, so the process never keeps the whole JSON text or its bytes next to the contents.

use js_sys::{JsString, Object, Reflect, Uint8Array, JSON};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use super::convert::property;
use super::host::global;

/// Length in UTF-16 code units from which a string is streamed (1 MiB of ASCII text). Below
/// it one string body is sent, which costs less per request.
const STREAM_MIN_UNITS: u32 = 1 << 20;

/// Length in UTF-16 code units of the slices that a stream body escapes and encodes one at a
/// time.
const SLICE_UNITS: u32 = 1 << 20;

#[wasm_bindgen]
extern "C" {
    /// A `ReadableStream`, built here as a request body.
    type ReadableStream;

    #[wasm_bindgen(constructor, catch)]
    fn new(source: &Object) -> Result<ReadableStream, JsValue>;

    /// The controller that a `ReadableStream` passes to its source's `pull`.
    type StreamController;

    #[wasm_bindgen(method, catch)]
    fn enqueue(this: &StreamController, chunk: &Uint8Array) -> Result<(), JsValue>;

    #[wasm_bindgen(method, catch)]
    fn close(this: &StreamController) -> Result<(), JsValue>;

    /// A `TextEncoder`, which encodes strings as UTF-8.
    type TextEncoder;

    #[wasm_bindgen(constructor, catch)]
    fn new() -> Result<TextEncoder, JsValue>;

    #[wasm_bindgen(method)]
    fn encode(this: &TextEncoder, input: &JsString) -> Uint8Array;
}

/// Returns the body `fetch` sends for `head`, then `value` as a JSON string literal, then
/// `tail`: one string, or a `ReadableStream` of UTF-8 bytes for a long `value` in Node.
///
/// The stream is built anew on every call, so every attempt of a retried request sends the
/// whole body. `value` is escaped with `JSON.stringify`, so both forms encode a string
/// alike, lone surrogates included.
pub(super) fn json_with_string(
    head: &str,
    value: &JsValue,
    tail: &str,
) -> Result<JsValue, JsValue> {
    let Some(text) = value.dyn_ref::<JsString>() else {
        return Err(JsValue::from_str(
            "the file contents to send are not a string; pass params.contents as a string",
        ));
    };

    if text.length() < STREAM_MIN_UNITS || !sends_stream_bodies() {
        let literal = JSON::stringify(text)?;
        let body = JsString::from(head)
            .concat(&literal)
            .concat(&JsValue::from_str(tail));
        return Ok(body.into());
    }

    let mut slices = SliceEncoder::new(head, text.clone(), tail)?;
    let pull = Closure::<dyn FnMut(StreamController) -> Result<(), JsValue>>::new(
        move |controller: StreamController| match slices.next_chunk()? {
            Some(chunk) => controller.enqueue(&chunk),
            None => controller.close(),
        },
    );
    let source = Object::new();
    Reflect::set(&source, &"pull".into(), &pull.into_js_value())?;
    Ok(ReadableStream::new(&source)?.into())
}

/// Returns whether this runtime's `fetch` sends a `ReadableStream` body as it is produced.
/// Node's fetch (Node 20) does. Browsers (no `process.versions.node`) get one string, because
/// request streams do not work in every browser (MDN lists `Request.duplex` as not Baseline).
///
/// NOTE: a custom `fetch` option in Node gets the stream too, so one that accepts only string
/// bodies fails on writes of 1 MiB or more.
fn sends_stream_bodies() -> bool {
    let versions = property(&global("process"), "versions");
    property(&versions, "node").is_string()
}

/// The chunks of a stream body: `head` and the opening quote, the escaped slices of the
/// string, then the closing quote and `tail`.
struct SliceEncoder {
    head: Option<Uint8Array>,
    text: JsString,
    offset: u32,
    tail: Option<Uint8Array>,
    encoder: TextEncoder,
}

impl SliceEncoder {
    fn new(head: &str, text: JsString, tail: &str) -> Result<Self, JsValue> {
        Ok(Self {
            head: Some(Uint8Array::from(format!("{head}\"").as_bytes())),
            text,
            offset: 0,
            tail: Some(Uint8Array::from(format!("\"{tail}").as_bytes())),
            encoder: TextEncoder::new()?,
        })
    }

    /// Returns the next chunk, or `None` once every chunk was returned.
    fn next_chunk(&mut self) -> Result<Option<Uint8Array>, JsValue> {
        if let Some(head) = self.head.take() {
            return Ok(Some(head));
        }

        let length = self.text.length();
        if self.offset >= length {
            return Ok(self.tail.take());
        }

        let end = slice_end(&self.text, self.offset, length);
        let literal = JSON::stringify(&self.text.slice(self.offset, end))?;
        self.offset = end;

        // A JSON string literal starts and ends with a quote, one byte each in UTF-8.
        let bytes = self.encoder.encode(&literal);
        Ok(Some(bytes.subarray(1, bytes.length() - 1)))
    }
}

/// Returns where the slice starting at `offset` ends: [`SLICE_UNITS`] later, or one unit
/// earlier when that would split a surrogate pair. `JSON.stringify` would write each half of
/// a split pair as a `\u` escape, which decodes to the same text but not to the same bytes as
/// the one-string body.
fn slice_end(text: &JsString, offset: u32, length: u32) -> u32 {
    let end = offset.saturating_add(SLICE_UNITS).min(length);
    if end < length && is_high_surrogate(text.char_code_at(end - 1)) {
        return end - 1;
    }
    end
}

fn is_high_surrogate(unit: f64) -> bool {
    (f64::from(0xD800)..=f64::from(0xDBFF)).contains(&unit)
}
