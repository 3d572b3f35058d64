//! The JS surface: thin `#[wasm_bindgen]` wrappers that convert arguments, call the
//! resources and convert results and errors back.
//!
//! Every promise comes from [`spawn`], so every failure reaches JS through the one error
//! conversion in [`errors`].

mod convert;
mod devbox;
mod errors;
mod execution;
mod fetch;
mod sdk;
mod snapshot;
mod typescript;

use std::future::Future;
use std::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::JsValue;

use crate::client::Client;
use crate::error::Error;
use fetch::FetchPlatform;

/// The client shared by every object made from one `RunloopSDK`.
type JsClient = Rc<Client<FetchPlatform>>;

/// Runs a future as a JS promise, turning its error into the matching JS error class.
fn spawn<F>(future: F) -> Promise
where
    F: Future<Output = Result<JsValue, Error>> + 'static,
{
    wasm_bindgen_futures::future_to_promise(
        async move { future.await.map_err(errors::to_js_error) },
    )
}
