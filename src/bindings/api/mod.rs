//! `runloop.api`: raw access to every endpoint, named like the official client's
//! `client.devboxes.*` methods. Each method sends one request (or runs one wait) and
//! resolves with the wire view, as a plain object.

mod devboxes;
mod executions;
mod snapshots;

use std::rc::Rc;

use serde::Deserialize;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use super::JsClient;
use devboxes::DevboxesApi;

/// The raw API, reached as `runloop.api`.
///
/// ```ts
/// const page = await runloop.api.devboxes.list({ limit: 100 });
/// ```
#[wasm_bindgen]
pub struct RunloopApi {
    devboxes: JsValue,
}

impl RunloopApi {
    pub(super) fn new(client: JsClient) -> Self {
        Self {
            devboxes: DevboxesApi::new(Rc::clone(&client)).into(),
        }
    }
}

#[wasm_bindgen]
impl RunloopApi {
    /// Devbox endpoints, with `executions`, `diskSnapshots` and `logs` below them.
    ///
    /// ```ts
    /// const view = await runloop.api.devboxes.retrieve('dbx_123');
    /// ```
    #[wasm_bindgen(getter, unchecked_return_type = "DevboxesApi")]
    pub fn devboxes(&self) -> JsValue {
        self.devboxes.clone()
    }
}

/// The `last_n` query parameter, read from a params object that may hold other fields.
#[derive(Debug, Default, Deserialize)]
struct LastN {
    #[serde(default)]
    last_n: Option<u32>,
}
