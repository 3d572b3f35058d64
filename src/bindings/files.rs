//! `devbox.file`: read and write text, upload and download bytes.
//!
//! File contents stay JS values from the caller to `fetch` and from the response to the
//! caller; only paths enter wasm memory. Every file request gets 10 minutes per attempt
//! unless `options.timeout` sets another limit.

use std::rc::Rc;

use js_sys::{Array, Object, Promise, Reflect};
use runloop_types::{DownloadFileParams, ReadFileParams};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::convert::{from_js, is_absent, property, request_options};
use super::host::{is_blob, is_byte_buffer, Blob, TextDecoder};
use super::progress::{byte_size, with_transfer_progress};
use super::{decode_unknown, parse_json, send, spawn, JsClient, JsRequest};
use crate::error::{Error, Result};
use crate::platform::ResponseMode;
use crate::resources::files;

/// File access on one devbox, reached as `devbox.file`. Relative paths start at the user's
/// home directory.
#[wasm_bindgen]
pub struct DevboxFileOps {
    client: JsClient,
    devbox_id: String,
}

impl DevboxFileOps {
    pub(super) fn new(client: JsClient, devbox_id: String) -> Self {
        Self { client, devbox_id }
    }
}

#[wasm_bindgen]
impl DevboxFileOps {
    /// Reads a file as UTF-8 text.
    ///
    /// ```ts
    /// const text = await devbox.file.read('hello.txt');
    /// const same = await devbox.file.read({ file_path: 'hello.txt' });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<string>")]
    pub fn read(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string | ReadFileParams")] params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> Promise {
        read_file(&self.client, &self.devbox_id, params, options)
    }

    /// Replaces a file with UTF-8 text, creating it and its parent directories if needed.
    /// `contents` may also be bytes (`Uint8Array`, `ArrayBuffer` or `Blob`) holding UTF-8;
    /// use `upload` for other bytes.
    ///
    /// ```ts
    /// await devbox.file.write({ file_path: 'config.json', contents: JSON.stringify({ debug: true }) });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<DevboxExecutionDetailView>")]
    pub fn write(
        &self,
        #[wasm_bindgen(unchecked_param_type = "FileWriteParams")] params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] options: JsValue,
    ) -> Promise {
        write_file(&self.client, &self.devbox_id, params, options)
    }

    /// Uploads bytes to a file (`multipart/form-data`), creating it and its parent
    /// directories if needed. `file` may be a string (sent as UTF-8), a `Uint8Array`, an
    /// `ArrayBuffer` or a `Blob`/`File`. Resolves with the server's response, whose shape the
    /// API does not specify. `onProgress` gets `uploading` (with `total` bytes) and `done`.
    ///
    /// ```ts
    /// await devbox.file.upload({ path: 'data/model.bin', file: new Uint8Array([1, 2, 3]) });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<unknown>")]
    pub fn upload(
        &self,
        #[wasm_bindgen(unchecked_param_type = "FileUploadParams")] params: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "TransferOptions")] options: JsValue,
    ) -> Promise {
        let total = byte_size(&property(&params, "file"));
        let upload = upload_file(&self.client, &self.devbox_id, params, options.clone());
        with_transfer_progress(upload, &options, "uploading", total)
    }

    /// Downloads a file's bytes: a `Uint8Array` by default, or a `Blob` with
    /// `{ as: 'blob' }` in the options. Declared in `typescript.rs`, with one overload per
    /// result type.
    #[wasm_bindgen(skip_typescript)]
    pub fn download(&self, params: JsValue, options: JsValue) -> Promise {
        let download = download_file(&self.client, &self.devbox_id, params, options.clone());
        with_transfer_progress(download, &options, "downloading", None)
    }
}

/// Sends `read_file_contents` for `params` (a path or `{ file_path }`) and resolves with the
/// text as a JS string.
///
/// NOTE: a 64 MiB read peaks about 200 MiB above the start in Node 20, as raw `fetch` with
/// `text()` does. Decoding piece by piece saved only 10 % of that and cost a quarter of the
/// throughput, so the body is read with `text()`.
pub(super) fn read_file(
    client: &JsClient,
    devbox_id: &str,
    params: JsValue,
    options: JsValue,
) -> Promise {
    let params = match params.as_string() {
        Some(file_path) => Ok(ReadFileParams { file_path }),
        None => from_js::<ReadFileParams>(&params, "params"),
    };
    let request = params
        .and_then(|params| files::read_file_contents(devbox_id, &params, ResponseMode::HostText));
    send(client, request, options, decode_unknown)
}

/// Sends `write_file_contents` for `{ file_path, contents }`. The contents stay a JS string,
/// which the host escapes and encodes for each attempt (streamed when large, see
/// `json_body`), so they never enter wasm memory.
pub(super) fn write_file(
    client: &JsClient,
    devbox_id: &str,
    params: JsValue,
    options: JsValue,
) -> Promise {
    let client = Rc::clone(client);
    let devbox_id = devbox_id.to_owned();
    spawn(async move {
        let file_path = required_string(&params, "file_path")?;
        let contents = utf8_text(&property(&params, "contents")).await?;
        let request: JsRequest = files::write_file_contents_host(&devbox_id, &file_path, contents)?;
        let text = client
            .send_text(&request, &request_options(&options)?)
            .await?;
        parse_json(&text, &request.describe())
    })
}

/// Sends `upload_file` for `{ path, file }`.
pub(super) fn upload_file(
    client: &JsClient,
    devbox_id: &str,
    params: JsValue,
    options: JsValue,
) -> Promise {
    let request = required_string(&params, "path").and_then(|path| {
        let file = as_blob(&property(&params, "file"))?;
        Ok(files::upload_file(devbox_id, &path, file))
    });
    send(client, request, options, decode_unknown)
}

/// Sends `download_file` for `{ path }` and resolves with a `Uint8Array`, or a `Blob` when
/// `options.as` is `'blob'`.
pub(super) fn download_file(
    client: &JsClient,
    devbox_id: &str,
    params: JsValue,
    options: JsValue,
) -> Promise {
    let mode = match property(&options, "as").as_string().as_deref() {
        None | Some("bytes") => Ok(ResponseMode::Bytes),
        Some("blob") => Ok(ResponseMode::Blob),
        Some(other) => Err(Error::InvalidArgument(format!(
            "Invalid options.as: expected 'bytes' or 'blob', got '{other}'"
        ))),
    };
    let request = mode.and_then(|mode| {
        let params = from_js::<DownloadFileParams>(&params, "params")?;
        files::download_file(devbox_id, &params, mode)
    });
    send(client, request, options, decode_unknown)
}

/// Reads a required string property of the params.
fn required_string(params: &JsValue, key: &str) -> Result<String> {
    property(params, key)
        .as_string()
        .ok_or_else(|| Error::InvalidArgument(format!("Invalid params.{key}: expected a string")))
}

/// Returns file contents as a JS string: a string as is, bytes decoded as UTF-8 (rejecting
/// invalid UTF-8).
async fn utf8_text(contents: &JsValue) -> Result<JsValue> {
    if contents.is_string() {
        if !is_well_formed(contents) {
            return Err(Error::InvalidArgument(
                "Invalid params.contents: the string contains a lone surrogate (a UTF-16 code \
                 unit between U+D800 and U+DFFF without its pair), which has no UTF-8 form; \
                 use file.upload for binary data"
                    .to_owned(),
            ));
        }
        return Ok(contents.clone());
    }
    let bytes = if is_byte_buffer(contents) {
        contents.clone()
    } else if is_blob(contents) {
        let blob: &Blob = contents.unchecked_ref();
        JsFuture::from(blob.array_buffer().map_err(thrown)?)
            .await
            .map_err(thrown)?
    } else {
        return Err(Error::InvalidArgument(
            "Invalid params.contents: expected a string, Uint8Array, ArrayBuffer or Blob"
                .to_owned(),
        ));
    };

    let options = Object::new();
    let _ = Reflect::set(&options, &"fatal".into(), &JsValue::TRUE);
    let decoder = TextDecoder::new("utf-8", &options).map_err(thrown)?;
    decoder.decode_to_js(&bytes, &Object::new()).map_err(|_| {
        Error::InvalidArgument(
            "Invalid params.contents: the bytes are not valid UTF-8; use file.upload for \
             binary data"
                .to_owned(),
        )
    })
}

/// Returns upload contents as a `Blob`, which `FormData` needs: a `Blob` as is, anything
/// else wrapped in one (strings are encoded as UTF-8).
fn as_blob(file: &JsValue) -> Result<JsValue> {
    if is_blob(file) {
        return Ok(file.clone());
    }
    if is_absent(file) || !(file.is_string() || is_byte_buffer(file)) {
        return Err(Error::InvalidArgument(
            "Invalid params.file: expected a string, Uint8Array, ArrayBuffer or Blob".to_owned(),
        ));
    }
    let blob = Blob::new(&Array::of1(file)).map_err(thrown)?;
    Ok(blob.into())
}

fn thrown(error: JsValue) -> Error {
    Error::Thrown(crate::platform::ErrorCause::new(error))
}

/// Returns whether a JS string has no lone surrogate, through `String.prototype.isWellFormed`
/// (Node 20, current browsers). Runtimes without it get `true`, and the server rejects the
/// body instead.
fn is_well_formed(text: &JsValue) -> bool {
    let string_class = super::host::global("String");
    let prototype = Reflect::get(&string_class, &"prototype".into()).unwrap_or_default();
    let check = property(&prototype, "isWellFormed");
    match check.dyn_ref::<js_sys::Function>() {
        Some(check) => check.call0(text).map_or(true, |result| result.is_truthy()),
        None => true,
    }
}
